// SmartPOS Cloud: the fleet view. Plain JS, no build step, nothing loaded from elsewhere.
//
// Signs in with POST /api/v1/auth/login, keeps the bearer token in sessionStorage (this tab
// only), and shows GET /api/v1/fleet, refreshed every 5 s. A 401 (expired, revoked or unknown
// token) returns to the login form. All data is put into the page as text (textContent),
// never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "smartpos.cloud.token";
  const USER_KEY = "smartpos.cloud.user";
  const REFRESH_MS = 5000;
  const KIND_LABELS = {
    printer: "Printer",
    cash_drawer: "Cash drawer",
    fiscal_printer: "Fiscal printer",
    scale: "Scale",
    payment_terminal: "Payment terminal",
    line_display: "Line display",
    scanner: "Scanner",
  };
  const DEVICE_STATUS_LABELS = { online: "Online", offline: "Offline", error: "Error" };

  const $ = (id) => document.getElementById(id);
  const ui = {
    loginView: $("login-view"),
    loginForm: $("login-form"),
    loginEmail: $("login-email"),
    loginPassword: $("login-password"),
    loginSubmit: $("login-submit"),
    loginError: $("login-error"),
    loginNotice: $("login-notice"),
    consoleView: $("console-view"),
    userEmail: $("user-email"),
    signOut: $("sign-out"),
    scope: $("scope"),
    updated: $("updated"),
    updatedText: $("updated-text"),
    refreshError: $("refresh-error"),
    statOnline: $("stat-online"),
    statOnlineNote: $("stat-online-note"),
    statOffline: $("stat-offline"),
    statOfflineCard: $("stat-offline-card"),
    statOfflineNote: $("stat-offline-note"),
    statErrors: $("stat-errors"),
    statErrorsCard: $("stat-errors-card"),
    statErrorsNote: $("stat-errors-note"),
    statBacklog: $("stat-backlog"),
    statBacklogCard: $("stat-backlog-card"),
    hubsTable: $("hubs-table"),
    hubsBody: $("hubs-body"),
    hubsEmpty: $("hubs-empty"),
  };

  // Bumped on every sign-in and sign-out: a refresh started before no longer counts.
  let generation = 0;
  let timer = null;
  let lastSuccess = null;

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // --- helpers -----------------------------------------------------------------------------

  /** An element with a class and children; strings become text nodes (never parsed as HTML). */
  function h(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function sentence(text) {
    const s = String(text || "").trim();
    return s ? s.charAt(0).toUpperCase() + s.slice(1) : s;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function setNotice(node, text) {
    node.textContent = text || "";
    show(node, Boolean(text));
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  function parseTime(value) {
    if (!value) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function ago(date) {
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 10) return "just now";
    if (seconds < 60) return `${seconds} s ago`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.round(minutes / 60);
    if (hours < 48) return `${hours} h ago`;
    return `${Math.round(hours / 24)} days ago`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  // --- API -----------------------------------------------------------------------------------

  async function api(method, path, { body, token } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (_) {
      throw new ApiError(0, "network_error", "The cloud cannot be reached; check the connection.");
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = data && typeof data === "object" ? data.error : null;
      throw new ApiError(
        response.status,
        (error && error.code) || `http_${response.status}`,
        (error && error.message) || `The request failed (HTTP ${response.status}).`,
      );
    }
    return data;
  }

  // --- views ---------------------------------------------------------------------------------

  function showLogin({ notice = "", error = "" } = {}) {
    stopRefreshing();
    show(ui.consoleView, false);
    show(ui.loginView, true);
    setNotice(ui.loginNotice, notice);
    setNotice(ui.loginError, error);
    ui.loginPassword.value = "";
    ui.loginSubmit.disabled = false;
    ui.loginSubmit.textContent = "Sign in";
    (ui.loginEmail.value ? ui.loginPassword : ui.loginEmail).focus();
    document.title = "Sign in · SmartPOS Cloud";
  }

  function showConsole() {
    show(ui.loginView, false);
    show(ui.consoleView, true);
    ui.userEmail.textContent = sessionStorage.getItem(USER_KEY) || "";
    document.title = "Fleet · SmartPOS Cloud";
    const storeId = currentStoreId();
    ui.scope.replaceChildren();
    if (storeId) {
      const all = h("a", "link", "Show all stores");
      all.href = "/fleet";
      ui.scope.append("Showing one store. ", all);
    }
  }

  function forgetSession() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  }

  function currentStoreId() {
    return new URLSearchParams(window.location.search).get("store_id");
  }

  // --- login and sign-out --------------------------------------------------------------------

  async function onLogin(event) {
    event.preventDefault();
    const email = ui.loginEmail.value.trim();
    const password = ui.loginPassword.value;
    setNotice(ui.loginNotice, "");
    if (!email || !password) {
      setNotice(ui.loginError, "Enter your email and password.");
      (email ? ui.loginPassword : ui.loginEmail).focus();
      return;
    }
    setNotice(ui.loginError, "");
    ui.loginSubmit.disabled = true;
    ui.loginSubmit.textContent = "Signing in…";
    try {
      const login = await api("POST", "/api/v1/auth/login", { body: { email, password } });
      sessionStorage.setItem(TOKEN_KEY, login.token);
      sessionStorage.setItem(USER_KEY, (login.user && login.user.email) || email);
      ui.loginPassword.value = "";
      startRefreshing();
    } catch (error) {
      const message = error instanceof ApiError ? error.message : "Signing in failed.";
      setNotice(ui.loginError, sentence(message));
      ui.loginPassword.value = "";
      ui.loginPassword.focus();
    } finally {
      ui.loginSubmit.disabled = false;
      ui.loginSubmit.textContent = "Sign in";
    }
  }

  function onSignOut() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    forgetSession();
    showLogin({ notice: "You have signed out." });
    if (token) {
      // Revoke the token on the server as well; the tab has already forgotten it.
      api("POST", "/api/v1/auth/logout", { token }).catch(() => {});
    }
  }

  // --- refreshing ----------------------------------------------------------------------------

  function stopRefreshing() {
    generation += 1;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function startRefreshing() {
    stopRefreshing();
    lastSuccess = null;
    ui.hubsBody.replaceChildren();
    setNotice(ui.refreshError, "");
    ui.updatedText.textContent = "Loading…";
    showConsole();
    refresh(generation);
  }

  async function refresh(gen) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      showLogin();
      return;
    }
    const storeId = currentStoreId();
    const path = storeId ? `/api/v1/fleet?store_id=${encodeURIComponent(storeId)}` : "/api/v1/fleet";
    try {
      const view = await api("GET", path, { token });
      if (gen !== generation) return;
      lastSuccess = new Date();
      render(view);
      setNotice(ui.refreshError, "");
      ui.updated.classList.remove("stale");
      ui.updatedText.textContent = `Updated ${timeFormat.format(lastSuccess)} · every 5 s`;
    } catch (error) {
      if (gen !== generation) return;
      if (error instanceof ApiError && error.status === 401) {
        forgetSession();
        showLogin({ error: "Your session has expired or is no longer valid. Please sign in again." });
        return;
      }
      const message = error instanceof ApiError ? sentence(error.message) : "Unexpected error.";
      const since = lastSuccess ? ` Showing data from ${timeFormat.format(lastSuccess)}.` : "";
      setNotice(ui.refreshError, `Could not refresh: ${message}${since} Retrying every 5 s.`);
      ui.updated.classList.add("stale");
    }
    if (gen === generation) {
      timer = setTimeout(() => refresh(gen), REFRESH_MS);
    }
  }

  // --- rendering -----------------------------------------------------------------------------

  function render(view) {
    const hubs = Array.isArray(view.hubs) ? view.hubs : [];
    const summary = view.summary || {};
    const active = hubs.filter((hub) => hub.status === "active");
    const devices = active.flatMap((hub) => hub.devices || []);
    const inError = devices.filter((device) => device.status === "error").length;
    const notOnline = devices.filter((device) => device.status !== "online").length;

    ui.statOnline.textContent = `${summary.online ?? 0} / ${summary.hubs ?? 0}`;
    ui.statOnlineNote.textContent = summary.pending
      ? `${plural(summary.pending, "hub", "hubs")} waiting to be claimed`
      : "claimed hubs connected";
    ui.statOffline.textContent = String(summary.offline ?? 0);
    ui.statOfflineCard.classList.toggle("alert", (summary.offline ?? 0) > 0);
    ui.statOfflineNote.textContent = (summary.offline ?? 0) > 0 ? "need attention" : "all hubs reachable";
    ui.statErrors.textContent = String(inError);
    ui.statErrorsCard.classList.toggle("alert", inError > 0);
    ui.statErrorsNote.textContent = `${plural(notOnline, "device", "devices")} not online of ${devices.length}`;
    ui.statBacklog.textContent = String(summary.backlog ?? 0);
    ui.statBacklogCard.classList.toggle("alert", (summary.backlog ?? 0) > 0);

    // The API sends the hubs that need attention first (offline, then online, then pending).
    ui.hubsBody.replaceChildren(...hubs.map(hubRow));
    show(ui.hubsEmpty, hubs.length === 0);
    show(ui.hubsTable, hubs.length > 0);
  }

  function cell(label, className, ...children) {
    const td = h("td", className, ...children);
    td.dataset.label = label;
    return td;
  }

  function hubState(hub) {
    if (hub.status !== "active") {
      return { key: "pending", label: hub.status === "pending" ? "Pending claim" : sentence(hub.status) };
    }
    return hub.online ? { key: "online", label: "Online" } : { key: "offline", label: "Offline" };
  }

  // The applied version; the one it is catching up to; a version it refused, and why.
  function configState(hub) {
    const applied = Number(hub.applied_config_version) || 0;
    const desired = Number(hub.desired_config_version) || 0;
    const refused = Number(hub.rejected_config_version) || 0;
    const parts = [h("div", "mono", `v${applied}`)];
    if (refused > applied) {
      parts.push(h("span", "badge badge-small badge-error", `refused v${refused}`));
      const reason = h("div", "config-error", hub.config_error || "no reason given");
      reason.title = hub.config_error || "";
      parts.push(reason);
    } else if (desired > applied) {
      parts.push(h("div", "muted mono", `updating to v${desired}`));
    }
    return parts;
  }

  function hubRow(hub) {
    const state = hubState(hub);
    const row = h("tr", `hub hub-${state.key}`);
    row.dataset.hubId = hub.id;

    const name = h("div", "hub-name", hub.name);
    const id = h("div", "hub-id mono", String(hub.id).slice(0, 8));
    id.title = `Hub id ${hub.id}`;

    const badge = h("span", `badge badge-${state.key}`, state.label);
    const seen = parseTime(hub.last_seen_at);
    const seenText = h("div", "last-seen", seen ? `last seen ${ago(seen)}` : "never seen");
    if (seen) seenText.title = dateTimeFormat.format(seen);

    const backlog = Number(hub.backlog) || 0;
    row.append(
      cell("Hub", "cell-hub", name, id),
      cell("Store", "cell-store", hub.store_name),
      cell("Status", "cell-status", badge, seenText),
      cell("Software", "cell-software mono", hub.software_version || "–"),
      cell("Config", "cell-config", ...configState(hub)),
      cell("Backlog", `num mono${backlog > 0 ? " backlog-waiting" : ""}`, String(backlog)),
      cell("Devices", "cell-devices", deviceList(hub, state.key)),
    );
    return row;
  }

  function deviceName(device) {
    const details = device.details || {};
    return typeof details.name === "string" && details.name ? details.name : device.device_id;
  }

  function deviceProblem(device) {
    const details = device.details || {};
    const parts = [];
    if (Array.isArray(details.conditions)) {
      parts.push(...details.conditions.filter((c) => typeof c === "string" && c).map((c) => c.replaceAll("_", " ")));
    }
    if (typeof details.detail === "string" && details.detail) parts.push(details.detail);
    return parts.join(" · ");
  }

  function deviceList(hub, hubStateKey) {
    const devices = hub.devices || [];
    if (devices.length === 0) return h("span", "muted", "No devices reported");
    const list = h("ul", `devices${hubStateKey === "offline" ? " devices-stale" : ""}`);
    if (hubStateKey === "offline") list.title = "Last reported before the hub went offline";
    for (const device of devices) {
      const status = DEVICE_STATUS_LABELS[device.status] || sentence(device.status);
      const item = h(
        "li",
        `device device-${device.status}`,
        h("span", `badge badge-small badge-${device.status}`, status),
        h("span", "device-name", deviceName(device)),
        h("span", "device-kind", KIND_LABELS[device.kind] || sentence(String(device.kind).replaceAll("_", " "))),
      );
      const problem = device.status !== "online" ? deviceProblem(device) : "";
      if (problem) item.append(h("span", "device-problem", problem));
      list.append(item);
    }
    return list;
  }

  // --- start ---------------------------------------------------------------------------------

  ui.loginForm.addEventListener("submit", onLogin);
  ui.signOut.addEventListener("click", onSignOut);
  document.addEventListener("visibilitychange", () => {
    // Back to a tab that was in the background: refresh at once rather than on the next tick.
    if (document.visibilityState === "visible" && !ui.consoleView.hidden && timer !== null) {
      clearTimeout(timer);
      timer = null;
      refresh(generation);
    }
  });

  if (sessionStorage.getItem(TOKEN_KEY)) {
    startRefreshing();
  } else {
    showLogin();
  }
})();
