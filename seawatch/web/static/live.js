// Live mode: the map follows `api/v1/stream` (Server-Sent Events, docs/api.md) and keeps the
// watch's alert queue.
//
// - `store` messages move the vessels' markers (the caller's `moved` vessels, as /vessels
//   shows them) and say how many new events there are;
// - `alert` messages update the queue of open alerts (new, acknowledged, assigned; newest
//   event first) and the badge on its tab (how many are new), with an optional beep made on
//   the spot by WebAudio (no sound file);
// - `hello` after a reconnection names what to reload (`resync`): EventSource reconnects by
//   itself and sends the last message's id back (Last-Event-ID); so does a `store` message
//   sent when the caller's grants or the markings changed.
//
// The stream is authenticated by the session cookie that EventSource sends like any
// same-origin request: no token in the URL. Acting on an alert (acknowledge, assign, close,
// reopen) posts to `api/v1/alerts/{id}/...` with the `X-CSRF-Token` of the session.

import { csrfToken } from "./auth.js";
import { esc, eventLabel, fmtTime } from "./format.js";

const API = "api/v1";
export const CLOSE_REASONS = [
  ["resolved", "Resolved"],
  ["false_positive", "False positive"],
  ["legitimate_activity", "Legitimate activity"],
  ["duplicate", "Duplicate"],
  ["referred", "Referred"],
  ["no_action", "No action"],
];
const OPEN = new Set(["new", "acknowledged", "assigned"]);
const QUEUE_MAX = 500; // open alerts fetched when the queue (re)loads

/** Newest event first, then the newest alert. */
function byNewest(a, b) {
  if (a.event_start !== b.event_start) return a.event_start < b.event_start ? 1 : -1;
  return b.id - a.id;
}

/** A short beep (generated, no file); nothing when the browser refuses audio. */
export function beep() {
  try {
    const Ctx = window.AudioContext ?? window.webkitAudioContext;
    if (!Ctx) return false;
    const ctx = new Ctx();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
    osc.onended = () => ctx.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The live connection and the alert queue.
 *
 * `hooks`: `onMoved(vessels)` (latest positions of the vessels that moved), `onNewEvents(n)`,
 * `onResync(what)` (["store"] and/or ["alerts"]), `onStatus(text, {error})`,
 * `openEvent(eventId)`, `openPanel(title, kind, id)` (returns the panel body),
 * `canAct` (false: no action buttons, e.g. local mode, which is read-only).
 */
export class Live {
  constructor(hooks) {
    this.hooks = hooks;
    this.source = null;
    this.available = null; // null: not tried yet; then true/false
    this.alerts = new Map(); // id -> alert (open ones)
    this.received = { store: 0, alert: 0, hello: 0 };
    this.beeps = 0;
    // a page that goes away closes its stream, so the browser does not reconnect it from
    // a page being unloaded (a server stopping meanwhile would refuse that reconnection)
    window.addEventListener("pagehide", () => this.source?.close());
  }

  get on() {
    return this.source !== null;
  }

  /** Open the stream; resolves true once it said hello, false if it cannot open. */
  start() {
    if (this.source) return Promise.resolve(true);
    return new Promise((resolve) => {
      let opened = false;
      const source = new EventSource(`${API}/stream`);
      this.source = source;
      source.addEventListener("hello", (e) => {
        this.received.hello += 1;
        const data = JSON.parse(e.data);
        if (!opened) {
          opened = true;
          this.available = true;
          resolve(true);
        }
        if (data.resync?.length) this.hooks.onResync?.(data.resync);
        if (data.resync?.includes("alerts")) this.loadQueue();
        this.render();
      });
      source.addEventListener("store", (e) => {
        this.received.store += 1;
        const data = JSON.parse(e.data);
        if (data.moved?.length) this.hooks.onMoved?.(data.moved);
        if (data.new_events) this.hooks.onNewEvents?.(data.new_events);
        // the caller's grants or the markings changed: reload what it may see now
        if (data.resync?.length) this.hooks.onResync?.(data.resync);
        if (data.resync?.includes("alerts")) this.loadQueue();
      });
      source.addEventListener("alert", (e) => {
        this.received.alert += 1;
        const { change, alert } = JSON.parse(e.data);
        this.upsert(alert);
        if (change === "raised" && $("#alert-sound")?.checked && beep()) this.beeps += 1;
        this.render();
      });
      source.onerror = () => {
        if (!opened && source.readyState === EventSource.CLOSED) {
          this.available = false;
          this.source = null;
          resolve(false);
        }
        this.renderToggle();
      };
    });
  }

  stop() {
    this.source?.close();
    this.source = null;
    this.renderToggle();
  }

  upsert(alert) {
    if (OPEN.has(alert.state)) this.alerts.set(alert.id, alert);
    else this.alerts.delete(alert.id);
    if (this.hooks.panelAlert?.() === alert.id) this.showAlert(alert.id, alert);
  }

  /** The open alerts, newest event first. */
  queue() {
    return [...this.alerts.values()].sort(byNewest);
  }

  async loadQueue() {
    try {
      const r = await fetch(`${API}/alerts?state=open&limit=${QUEUE_MAX}`, {
        headers: { Accept: "application/json" },
      });
      if (!r.ok) throw new Error(`alerts answered HTTP ${r.status}`);
      const page = await r.json();
      this.alerts = new Map(page.items.map((a) => [a.id, a]));
      this.render();
    } catch (err) {
      this.hooks.onStatus?.(`Loading alerts: ${err.message}`, { error: true });
    }
  }

  renderToggle() {
    const box = $("#live-toggle");
    if (!box) return;
    box.checked = this.on;
    box.disabled = this.available === false;
    $("#live-label").title =
      this.available === false ? "The live stream is not available" : "Follow the live feed";
    $("#live-state").textContent = this.on
      ? this.source.readyState === EventSource.OPEN
        ? "live"
        : "reconnecting…"
      : "";
  }

  render() {
    this.renderToggle();
    const items = this.queue();
    const fresh = items.filter((a) => a.state === "new").length;
    const badge = $("#alert-badge");
    badge.textContent = String(fresh);
    badge.hidden = fresh === 0;
    badge.setAttribute("aria-label", `${fresh} new alerts`);
    $("#alerts-count").textContent = items.length
      ? `${items.length} open alert${items.length === 1 ? "" : "s"}`
      : "No open alerts";
    $("#alert-list").innerHTML = items
      .map(
        (a) => `<li class="alert-row state-${esc(a.state)}" data-alert-id="${a.id}">
  <button type="button" class="alert-open link" data-alert-id="${a.id}">
    <span class="alert-state">${esc(a.state)}</span>
    <strong>${esc(eventLabel(a.event_type))}</strong> · ${esc(a.mmsi ?? "")}${
      a.other_mmsi ? ` &amp; ${esc(a.other_mmsi)}` : ""
    }
    <span class="muted">${esc(fmtTime(a.event_start))} · ${esc(a.rule)}${
      a.assigned_to ? ` · ${esc(a.assigned_to)}` : ""
    }</span>
  </button>
  ${this.actions(a, true)}
</li>`,
      )
      .join("");
  }

  /** The action controls of an alert (none when the caller may not act). */
  actions(a, compact) {
    if (!this.hooks.canAct) return "";
    const id = a.id;
    const out = [];
    if (a.state === "new") {
      out.push(`<button type="button" data-act="acknowledge" data-id="${id}">Acknowledge</button>`);
    }
    if (OPEN.has(a.state)) {
      out.push(`<span class="act-group"><label class="visually-hidden" for="assign-${compact ? "q" : "p"}-${id}">Assign to</label>
<input id="assign-${compact ? "q" : "p"}-${id}" class="assign-user" type="text" placeholder="user" value="${esc(a.assigned_to ?? "")}" size="10" />
<button type="button" data-act="assign" data-id="${id}">Assign</button></span>`);
      out.push(`<span class="act-group"><label class="visually-hidden" for="reason-${compact ? "q" : "p"}-${id}">Close reason</label>
<select id="reason-${compact ? "q" : "p"}-${id}" class="close-reason">${CLOSE_REASONS.map(
        ([v, t]) => `<option value="${v}">${t}</option>`,
      ).join("")}</select>
<input class="close-note" type="text" placeholder="note" aria-label="Close note" size="12" />
<button type="button" data-act="close" data-id="${id}">Close</button></span>`);
    }
    if (a.state === "closed") {
      out.push(`<button type="button" data-act="reopen" data-id="${id}">Reopen</button>`);
    }
    const body = out.join(" ");
    return compact
      ? `<details class="alert-actions"><summary>Act</summary>${body}</details>`
      : `<div class="alert-actions">${body}</div>`;
  }

  /** Post one step of the life cycle; the alert as it is now (or an error shown). */
  async act(id, verb, holder) {
    let body = null;
    if (verb === "assign") body = { user: holder.querySelector(".assign-user")?.value.trim() };
    if (verb === "close") {
      body = {
        reason: holder.querySelector(".close-reason")?.value,
        note: holder.querySelector(".close-note")?.value ?? "",
      };
    }
    const headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    const csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const r = await fetch(`${API}/alerts/${id}/${verb}`, {
      method: "POST",
      headers,
      body: body ? JSON.stringify(body) : null,
      credentials: "same-origin",
    });
    let data = null;
    try {
      data = await r.json();
    } catch {
      /* not JSON */
    }
    if (!r.ok) {
      this.hooks.onStatus?.(`${verb} alert ${id}: ${data?.detail ?? `HTTP ${r.status}`}`, {
        error: true,
      });
      return null;
    }
    this.upsert(data);
    this.render();
    this.hooks.onStatus?.(`Alert ${id}: ${data.state}`);
    return data;
  }

  /** Open an alert's panel: what it is, where it stands, its actions, its event. */
  async showAlert(id, known = null) {
    let a = known ?? this.alerts.get(id);
    if (!a) {
      const r = await fetch(`${API}/alerts/${id}`, { headers: { Accept: "application/json" } });
      if (!r.ok) {
        this.hooks.onStatus?.(`Alert ${id}: HTTP ${r.status}`, { error: true });
        return;
      }
      a = await r.json();
    }
    const body = this.hooks.openPanel(`Alert ${a.id}`, "alert", a.id);
    const rows = [
      ["State", a.state],
      ["Rule", a.rule],
      ["Event", `${eventLabel(a.event_type)} · ${a.mmsi ?? ""}${a.other_mmsi ? ` & ${a.other_mmsi}` : ""}`],
      ["Started", fmtTime(a.event_start)],
      ["Raised", fmtTime(a.raised_at)],
      ["Acknowledged", a.acknowledged_at ? `${fmtTime(a.acknowledged_at)} by ${a.acknowledged_by}` : "—"],
      ["Assigned to", a.assigned_to ? `${a.assigned_to}${a.watch ? ` (watch ${a.watch})` : ""}` : "—"],
      ["Closed", a.closed_at ? `${fmtTime(a.closed_at)}: ${a.close_reason} ${a.close_note}` : "—"],
    ];
    body.innerHTML = `<dl class="alert-detail">${rows
      .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
      .join("")}</dl>
${this.actions(a, false)}
<p><button type="button" class="link" data-open-event="${esc(a.event_id)}">Show the event</button></p>`;
  }

  /** Clicks in the queue and in an alert's panel. */
  wire(root) {
    root.addEventListener("click", (e) => {
      const act = e.target.closest("[data-act]");
      if (act) {
        e.preventDefault();
        const holder = act.closest(".alert-actions") ?? act.parentElement;
        act.disabled = true;
        this.act(Number(act.dataset.id), act.dataset.act, holder).finally(() => {
          act.disabled = false;
        });
        return;
      }
      const open = e.target.closest(".alert-open");
      if (open) {
        this.showAlert(Number(open.dataset.alertId));
        return;
      }
      const ev = e.target.closest("[data-open-event]");
      if (ev) this.hooks.openEvent(ev.dataset.openEvent);
    });
  }
}

function $(sel) {
  return document.querySelector(sel);
}
