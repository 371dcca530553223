/*! Wayfarer in-app messages for web pages (served at /in-app.js).
 *
 * <script src="https://wayfarer.example.com/in-app.js" data-write-key="WRITE_KEY"
 *         data-placement="home" async></script>
 *
 * Whom it asks for: data-user-id (with data-user-hash when the server sets
 * in_app.identity_secret) or data-anonymous-id, else the ids analytics.js keeps (ajs_user_id,
 * ajs_anonymous_id), else call Wayfarer.start({userId, userHash}) yourself.
 * Where a banner shows: inside the element with data-wayfarer-placement="home" if the page has
 * one, else across the top of the page. A modal shows over the page.
 * What comes back: In-App Message Viewed / Clicked / Dismissed, on the person's profile.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  var origin = me && me.src ? new URL(me.src).origin : "";
  var state = null;

  function stored(name) {
    var v = null;
    try { v = window.localStorage.getItem(name); } catch (e) { /* storage blocked */ }
    if (!v) {
      var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
      v = m ? decodeURIComponent(m[1]) : null;
    }
    if (!v) return null;
    try { var parsed = JSON.parse(v); return typeof parsed === "string" ? parsed : v; } catch (e) { return v; }
  }

  function who(o) {
    var q = new URLSearchParams({ writeKey: o.writeKey });
    if (o.userId) {
      q.set("userId", o.userId);
      if (o.userHash) q.set("userHash", o.userHash);
    } else if (o.anonymousId) q.set("anonymousId", o.anonymousId);
    return q;
  }

  function report(s, id, action) {
    var url = s.host + "/v1/in-app/" + id + "/" + action + "?" + s.who;
    return fetch(url, { method: "POST", keepalive: true, mode: "cors" }).catch(function () { /* offline: not recorded */ });
  }

  function safeLink(link) {
    try {
      var u = new URL(link, window.location.href);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }

  var STYLE =
    ":host{all:initial}" +
    ".wf{font:15px/1.4 system-ui,sans-serif;color:#1f2328;background:#fff;box-sizing:border-box}" +
    ".banner{display:flex;gap:12px;align-items:center;padding:12px 16px;border-bottom:1px solid #d0d7de;background:#f6f8fa}" +
    ".text{flex:1;min-width:0}.title{font-weight:600;margin:0}.body{margin:2px 0 0}" +
    ".modal-back{position:fixed;inset:0;background:rgba(31,35,40,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647}" +
    ".modal{max-width:28rem;width:calc(100% - 32px);padding:24px;border-radius:8px;box-shadow:0 8px 24px rgba(0,0,0,.2);position:relative}" +
    ".modal .title{font-size:18px;margin:0 24px 8px 0}.modal .actions{margin-top:16px;text-align:right}" +
    "img{max-width:100%;border-radius:4px}.banner img{max-height:48px}" +
    ".cta{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer}" +
    ".close{font:inherit;font-size:20px;line-height:1;border:0;background:none;cursor:pointer;color:#57606a;padding:4px 8px}" +
    ".modal .close{position:absolute;top:8px;right:8px}" +
    "button:focus-visible{outline:2px solid #0969da;outline-offset:2px}";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function show(m) {
    var s = state;
    var host = document.createElement("div");
    host.setAttribute("data-wayfarer-message", String(m.id));
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = STYLE;
    root.appendChild(style);
    var modal = m.layout === "modal";
    var box = el("div", "wf " + (modal ? "modal" : "banner"));
    var titleId = "wf-title-" + m.id;
    if (m.image && safeLink(m.image)) {
      var img = el("img");
      img.src = safeLink(m.image);
      img.alt = "";
      box.appendChild(img);
    }
    var text = el("div", "text");
    if (m.title) { var t = el(modal ? "h2" : "p", "title", m.title); t.id = titleId; text.appendChild(t); }
    if (m.body) text.appendChild(el("p", "body", m.body));
    box.appendChild(text);
    var link = m.link ? safeLink(m.link) : null;
    var done = false;
    var before = document.activeElement;
    function finish(action) {
      if (done) return;
      done = true;
      document.removeEventListener("keydown", onKey, true);
      host.remove();
      s.showing = null;
      var sent = report(s, m.id, action);
      if (modal && before && before.focus && document.contains(before)) before.focus();
      if (action === "clicked" && link) {
        // Recorded first (keepalive lets it finish as the page changes).
        Promise.race([sent, new Promise(function (r) { setTimeout(r, 300); })]).then(function () { window.location.assign(link); });
      } else if (state === s) {
        next();
      }
    }
    var actions = el("div", "actions");
    if (link) {
      var cta = el("button", "cta", m.button || "Open");
      cta.type = "button";
      cta.addEventListener("click", function () { finish("clicked"); });
      actions.appendChild(cta);
    }
    box.appendChild(actions);
    var close = el("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { finish("dismissed"); });
    box.appendChild(close);
    // A modal keeps the focus inside it (Tab cycles through its buttons) until it closes.
    function onKey(e) {
      if (e.key === "Escape") {
        e.preventDefault();
        finish("dismissed");
      } else if (e.key === "Tab") {
        var stops = Array.prototype.slice.call(root.querySelectorAll("button"));
        var at = stops.indexOf(root.activeElement);
        var to = stops[(at + (e.shiftKey ? stops.length - 1 : 1)) % stops.length] || close;
        e.preventDefault();
        to.focus();
      }
    }
    if (modal) {
      var back = el("div", "modal-back");
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      if (m.title) box.setAttribute("aria-labelledby", titleId);
      else box.setAttribute("aria-label", (m.body || "Message").slice(0, 80));
      back.appendChild(box);
      root.appendChild(back);
      document.body.appendChild(host);
      document.addEventListener("keydown", onKey, true);
      (actions.firstChild || close).focus();
    } else {
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", m.title || "Message");
      root.appendChild(box);
      var spot = state.placement && document.querySelector('[data-wayfarer-placement="' + CSS.escape(state.placement) + '"]');
      if (spot) spot.appendChild(host);
      else document.body.insertBefore(host, document.body.firstChild);
    }
    s.showing = m.id;
    report(s, m.id, "viewed");
  }

  function next() {
    if (!state || state.showing !== null) return;
    var m = state.queue.shift();
    if (m) show(m);
  }

  function take(m) {
    if (!state || state.seen[m.id]) return;
    state.seen[m.id] = true;
    // Newest first.
    state.queue.unshift(m);
    next();
  }

  function start(options) {
    stop();
    var o = options || {};
    var writeKey = o.writeKey || (me && me.getAttribute("data-write-key"));
    if (!writeKey) { console.warn("Wayfarer in-app: no write key (data-write-key)"); return; }
    var userId = o.userId || (me && me.getAttribute("data-user-id")) || stored("ajs_user_id");
    var userHash = o.userHash || (me && me.getAttribute("data-user-hash")) || "";
    var anonymousId = o.anonymousId || (me && me.getAttribute("data-anonymous-id")) || stored("ajs_anonymous_id");
    if (!userId && !anonymousId) { console.warn("Wayfarer in-app: nobody to ask for (no userId or anonymousId)"); return; }
    var ids = who({ writeKey: writeKey, userId: userId, userHash: userHash, anonymousId: anonymousId });
    state = {
      host: (o.host || origin).replace(/\/$/, ""),
      who: ids.toString(),
      placement: o.placement || (me && me.getAttribute("data-placement")) || "",
      queue: [], seen: {}, showing: null, source: null,
    };
    ids.set("placement", state.placement);
    var q = ids.toString();
    if (window.EventSource) {
      var s = new EventSource(state.host + "/v1/in-app/stream?" + q);
      s.addEventListener("message", function (e) { try { take(JSON.parse(e.data)); } catch (err) { /* not a message */ } });
      state.source = s;
    } else {
      fetch(state.host + "/v1/decide?" + q).then(function (r) { return r.json(); }).then(function (d) {
        (d.messages || []).slice().reverse().forEach(take);
      });
    }
  }

  function stop() {
    if (state && state.source) state.source.close();
    state = null;
  }

  window.Wayfarer = { start: start, stop: stop };
  if (me && me.getAttribute("data-write-key") && me.getAttribute("data-autostart") !== "false") {
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", function () { start(); });
  }
})();
