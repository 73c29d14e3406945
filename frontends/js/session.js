// The signed-in session, kept in localStorage so that a scanned community code
// opens signed in: the tokens, and the role the person chose to work as.
const KEY = "yunshang.session";
const listeners = new Set();

export function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function save(values) {
  const next = { ...(load() || {}), ...values };
  localStorage.setItem(KEY, JSON.stringify(next));
  return next;
}

export function clear() {
  const had = load();
  localStorage.removeItem(KEY);
  if (had) for (const listener of listeners) listener();
}

// Called when the session ends (sign-out, or a refresh that failed).
export function onEnd(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function isSignedIn() {
  return Boolean(load()?.refreshToken);
}
