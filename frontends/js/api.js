// GraphQL over HTTP (/graphql): the access token on every request, refreshed with
// the refresh token before it expires or when the server says it has.
import * as session from "./session.js";

const ENDPOINT = "/graphql";
// Refresh this long before the access token expires.
const EARLY_MS = 60_000;

export class ApiError extends Error {
  constructor(message, code, errors = []) {
    super(message);
    this.code = code;
    this.errors = errors;
  }
}

const LOGIN = `mutation Login($phone: String!, $password: String!) {
  authLogin(phone: $phone, password: $password) {
    accessToken refreshToken expiresAt errors { field message code } } }`;
const REFRESH = `mutation Refresh($token: String!) {
  authRefresh(refreshToken: $token) { accessToken refreshToken expiresAt errors { code } } }`;
const LOGOUT = `mutation Logout($token: String) { authLogout(refreshToken: $token) { ok } }`;

async function send(query, variables, token) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(ENDPOINT, {
    method: "POST", headers, body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`服务器错误（${response.status}）`, "HTTP_" + response.status);
  }
  return { status: response.status, body };
}

function unauthenticated({ status, body }) {
  return status === 401 || (body.errors || []).some(e => e.extensions?.code === "UNAUTHENTICATED");
}

let refreshing = null;

// One refresh at a time: concurrent callers wait for the same new pair.
export function refresh() {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function doRefresh() {
  const current = session.load();
  if (!current?.refreshToken) throw new ApiError("请先登录", "UNAUTHENTICATED");
  let result;
  try {
    result = await send(REFRESH, { token: current.refreshToken });
  } catch (error) {
    throw new ApiError("网络不可用，请稍后再试", "NETWORK");
  }
  const pair = result.body.data?.authRefresh;
  if (!pair?.accessToken) {
    session.clear();
    throw new ApiError("登录已过期，请重新登录", "UNAUTHENTICATED");
  }
  session.save(pair);
  return pair.accessToken;
}

// The access token to send now (refreshed first when it is about to expire).
export async function accessToken() {
  const current = session.load();
  if (!current?.accessToken) return null;
  const expires = Date.parse(current.expiresAt || "") || 0;
  if (expires - Date.now() < EARLY_MS) return refresh();
  return current.accessToken;
}

// Runs a query or mutation; resolves to `data`, rejects with an ApiError.
export async function gql(query, variables = {}) {
  let token = null;
  try {
    token = await accessToken();
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED") throw error;
  }
  let result = await send(query, variables, token);
  if (token && unauthenticated(result)) {
    token = await refresh();
    result = await send(query, variables, token);
  }
  const { data, errors } = result.body;
  if (errors?.length && (data === null || data === undefined || Object.values(data).every(v => v === null))) {
    const first = errors[0];
    throw new ApiError(first.message, first.extensions?.code || "ERROR", errors);
  }
  return data;
}

export async function signIn(phone, password) {
  const { body } = await send(LOGIN, { phone, password });
  const result = body.data?.authLogin;
  if (!result) throw new ApiError(body.errors?.[0]?.message || "登录失败", body.errors?.[0]?.extensions?.code);
  if (result.errors.length) return result.errors;
  session.save({ ...result, role: null });
  return [];
}

export function keepPair(pair) {
  session.save({ ...pair, role: null });
}

export async function signOut() {
  const current = session.load();
  try {
    if (current?.refreshToken) await send(LOGOUT, { token: current.refreshToken });
  } finally {
    session.clear();
  }
}
