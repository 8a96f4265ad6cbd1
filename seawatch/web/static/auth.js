// Logging in and out of the seawatch API from the map, and TLP 2.0 marking badges.
//
// The API answers every data call with 401 until the browser holds a session: the map asks
// `api/v1/auth/me` first and shows the login form (`#login`) instead of loading data when it
// answers 401. Login sets the HttpOnly session cookie and the readable `seawatch_csrf` cookie,
// whose value goes back in `X-CSRF-Token` on logout. In local mode (`seawatch serve --auth
// local`) `auth/me` answers the built-in local user: no form, no logout button.

import { esc } from "./format.js";

const AUTH = "api/v1/auth";

const $ = (sel) => document.querySelector(sel);

/** A fetch of `api/v1/auth/<path>` on this server; the Response (never throws on HTTP status). */
function call(path, { method = "GET", body = null, csrf = null } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== null) headers["Content-Type"] = "application/json";
  if (csrf) headers["X-CSRF-Token"] = csrf;
  return fetch(`${AUTH}/${path}`, {
    method,
    headers,
    body: body === null ? null : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

/** The principal (`{user, agency, role, auth, mode, ...}`), or null when not logged in. */
export async function whoAmI() {
  const response = await call("me");
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`auth/me answered HTTP ${response.status}`);
  return response.json();
}

/** Log out (the CSRF header echoes the `seawatch_csrf` cookie); true when the server agreed. */
export async function logout() {
  const response = await call("logout", { method: "POST", body: {}, csrf: cookie("seawatch_csrf") });
  return response.ok;
}

async function login(username, password) {
  const response = await call("login", { method: "POST", body: { username, password } });
  if (response.ok) return { principal: await response.json() };
  if (response.status === 429) {
    const wait = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    return {
      error: `Too many attempts, retry in ${Number.isFinite(wait) ? wait : "a few"} s.`,
      retryAfter: Number.isFinite(wait) ? wait : null,
    };
  }
  if (response.status === 401) return { error: "Wrong username or password." };
  let detail = "";
  try {
    detail = (await response.json()).detail ?? "";
  } catch {
    /* not JSON */
  }
  return { error: `Login failed (HTTP ${response.status})${detail ? `: ${detail}` : ""}.` };
}

/** Make the rest of the page unreachable (focus, clicks, screen readers) while the form shows. */
function setInert(inert) {
  for (const el of document.querySelectorAll(".topbar .search, .layout, .skip-link")) {
    el.inert = inert;
    if (inert) el.setAttribute("aria-hidden", "true");
    else el.removeAttribute("aria-hidden");
  }
}

/**
 * Show the login form and resolve with the principal once a login succeeds. `message` is a
 * note above the form (e.g. "Your session has ended").
 */
export function askLogin(message = "") {
  const screen = $("#login");
  const form = $("#login-form");
  const error = $("#login-error");
  const note = $("#login-note");
  const submit = $("#login-submit");
  showUser(null);
  note.textContent = message;
  note.hidden = !message;
  error.textContent = "";
  error.hidden = true;
  form.reset();
  screen.hidden = false;
  setInert(true);
  $("#login-username").focus();
  return new Promise((resolve) => {
    let retryTimer = 0;
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const username = $("#login-username").value.trim();
      const password = $("#login-password").value;
      if (!username || !password) {
        error.textContent = "Enter your username and password.";
        error.hidden = false;
        return;
      }
      submit.disabled = true;
      form.setAttribute("aria-busy", "true");
      let result;
      try {
        result = await login(username, password);
      } catch (err) {
        result = { error: `The server cannot be reached (${err.message ?? err}).` };
      }
      form.removeAttribute("aria-busy");
      if (result.principal) {
        form.removeEventListener("submit", onSubmit);
        submit.disabled = false;
        $("#login-password").value = "";
        screen.hidden = true;
        setInert(false);
        resolve(result.principal);
        return;
      }
      error.textContent = result.error;
      error.hidden = false;
      $("#login-password").value = "";
      $("#login-password").focus();
      clearTimeout(retryTimer);
      if (result.retryAfter) {
        retryTimer = setTimeout(() => (submit.disabled = false), result.retryAfter * 1000);
      } else {
        submit.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
  });
}

/**
 * Who is logged in, in the header: "user · agency · role" and a "Log out" button (none in
 * local mode, where it says "local (this machine only)"). null clears it.
 */
export function showUser(principal, { onLogout = null } = {}) {
  const box = $("#whoami");
  if (!principal) {
    box.hidden = true;
    box.innerHTML = "";
    return;
  }
  const local = principal.mode === "local" || principal.auth === "local";
  box.hidden = false;
  box.innerHTML = local
    ? `<span class="who" title="no login: local mode">local (this machine only)</span>`
    : `<span class="who">${[principal.user, principal.agency, principal.role]
        .map((s) => `<span>${esc(s ?? "")}</span>`)
        .join(" · ")}</span>
       <button type="button" id="logout" class="logout">Log out</button>`;
  box.querySelector("#logout")?.addEventListener("click", async () => {
    try {
      await logout();
    } catch (err) {
      console.warn("seawatch: logout:", err);
    }
    onLogout?.();
  });
}

// ------------------------------------------------------------------ TLP 2.0 markings

const TLP_CLASSES = {
  CLEAR: "tlp-clear",
  GREEN: "tlp-green",
  AMBER: "tlp-amber",
  "AMBER+STRICT": "tlp-amber",
  RED: "tlp-red",
};

/** An event's marking as a small badge (FIRST TLP 2.0 colours on black); "" without one. */
export function tlpBadge(marking, releasableTo = null, owner = null) {
  if (!marking) return "";
  const level = String(marking).toUpperCase();
  const cls = TLP_CLASSES[level] ?? "tlp-unknown";
  const to = Array.isArray(releasableTo) && releasableTo.length ? releasableTo.join(", ") : "";
  const title = [owner ? `owner ${owner}` : "", to ? `releasable to ${to}` : ""]
    .filter(Boolean)
    .join(" · ");
  return `<span class="tlp ${cls}" data-tlp="${esc(level)}"${
    title ? ` title="${esc(title)}"` : ""
  }>TLP:${esc(level)}</span>`;
}

/** The session's CSRF token (the readable `seawatch_csrf` cookie), for writes; null without. */
export function csrfToken() {
  return cookie("seawatch_csrf");
}
