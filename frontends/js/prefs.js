// Display preferences, persisted: large type and high contrast (长者模式).
const KEY = "yunshang.prefs";

export function load() {
  try {
    return { large: false, contrast: false, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
  } catch {
    return { large: false, contrast: false };
  }
}

export function apply(prefs = load()) {
  document.documentElement.classList.toggle("large", Boolean(prefs.large));
  document.documentElement.classList.toggle("contrast", Boolean(prefs.contrast));
}

export function set(name, value) {
  const prefs = { ...load(), [name]: value };
  localStorage.setItem(KEY, JSON.stringify(prefs));
  apply(prefs);
  return prefs;
}

apply();
