// callstitch web UI: live rows of the search page. Interactions written while the page is
// open arrive over the UI's event stream (the events of /v1/stream) and are put at the top
// of the results when they match the search. Everything else works without this script.
// Rows are built with DOM calls and textContent only: no data ever becomes markup.
(function () {
  "use strict";

  var table = document.getElementById("results");
  if (!table || table.getAttribute("data-live") !== "on" || !window.EventSource) {
    return;
  }
  var tbody = table.tBodies[0];
  var status = document.getElementById("live-status");
  var filters = {};
  try {
    filters = JSON.parse(table.getAttribute("data-filters") || "{}");
  } catch (error) {
    return;
  }
  var arrived = 0;

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function startMicros(summary) {
    var millis = Date.parse(summary.start || "");
    return isNaN(millis) ? 0 : millis * 1000;
  }

  function matchesText(summary) {
    var q = filters.q || "";
    if (!q) {
      return true;
    }
    var uuid = list(summary.call_uuids).indexOf(q) >= 0;
    var dn = list(summary.parties).indexOf(q) >= 0 || summary.ani === q || summary.dnis === q;
    if (filters.kind === "call_uuid") {
      return uuid;
    }
    if (filters.kind === "dn") {
      return dn;
    }
    return uuid || dn;
  }

  function matches(summary) {
    var released = summary.released_by || {};
    var findings = summary.findings || 0;
    var start = startMicros(summary);
    return matchesText(summary) &&
      (!filters.site || list(summary.sites).indexOf(filters.site) >= 0) &&
      (!filters.outcome || summary.outcome === filters.outcome) &&
      (!filters.released_by || released.who === filters.released_by || released.dn === filters.released_by) &&
      (filters.findings !== "yes" || findings > 0) &&
      (filters.findings !== "no" || findings === 0) &&
      (!filters.state || summary.state === filters.state) &&
      (filters.from_us === null || filters.from_us === undefined || start >= filters.from_us) &&
      (filters.to_us === null || filters.to_us === undefined || start < filters.to_us);
  }

  function shortTime(text) {
    var match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?\d*Z$/.exec(text || "");
    return match ? match[1] + " " + match[2] + (match[3] || "") + " UTC" : (text || "unknown");
  }

  function cell(tag, label, parts) {
    var element = document.createElement(tag);
    element.setAttribute("data-label", label);
    if (tag === "th") {
      element.setAttribute("scope", "row");
    }
    parts.forEach(function (part) {
      element.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    return element;
  }

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function releasedText(released) {
    released = released || {};
    if (released.who && released.dn) {
      return released.who + " (" + released.dn + ")";
    }
    return released.who || released.dn || "unknown";
  }

  // Where the interaction is now: live at a site for so long, settling, or complete.
  function nowParts(summary) {
    if (summary.state === "live") {
      var since = document.createElement("time");
      since.setAttribute("datetime", summary.current_since || "");
      since.className = "since";
      since.textContent = elapsed(summary.current_since);
      return [span("badge now-live", "live"), " at " + String(summary.current_site || "?") + " ", since];
    }
    if (summary.state === "settling") {
      return [span("badge", "settling")];
    }
    return ["complete"];
  }

  // "for 3 min 12 s" since an RFC 3339 time (the site's clock; close enough to the viewer's).
  function elapsed(text) {
    var millis = Date.parse(text || "");
    if (isNaN(millis)) {
      return "";
    }
    var seconds = Math.max(0, Math.round((Date.now() - millis) / 1000));
    var minutes = Math.floor(seconds / 60);
    return "for " + (minutes > 0 ? minutes + " min " : "") + (seconds % 60) + " s";
  }

  function row(summary, kind) {
    var id = String(summary.interaction_id || "");
    var tr = document.createElement("tr");
    tr.id = "row-" + id;
    tr.className = "live";
    tr.setAttribute("data-id", id);

    var link = document.createElement("a");
    link.className = "open";
    link.href = "/i/" + encodeURIComponent(id);
    link.textContent = id;
    tr.appendChild(cell("th", "Interaction", [link, " ", span("badge", "live: " + kind)]));

    var time = document.createElement("time");
    time.setAttribute("datetime", summary.start || "");
    time.textContent = shortTime(summary.start);
    tr.appendChild(cell("td", "Start", [time]));
    tr.appendChild(cell("td", "Now", nowParts(summary)));
    tr.appendChild(cell("td", "Sites visited", [list(summary.sites).join(" \u2192 ")]));

    var numbers = [];
    if (summary.ani) { numbers.push("ANI " + summary.ani); }
    if (summary.dnis) { numbers.push("DNIS " + summary.dnis); }
    var parties = [list(summary.parties).join(", ")];
    if (numbers.length) {
      parties.push(document.createElement("br"), span("muted", numbers.join(", ")));
    }
    tr.appendChild(cell("td", "Parties", parties));

    var outcome = [String(summary.outcome || "")];
    if (summary.complete === false) {
      outcome.push(" ", span("badge", "linking still open"));
    }
    tr.appendChild(cell("td", "Outcome", outcome));
    tr.appendChild(cell("td", "Released by", [releasedText(summary.released_by)]));

    var media = summary.media_files || 0;
    tr.appendChild(cell("td", "Recorded", [media === 0 ? "no" : media === 1 ? "yes, 1 file" : "yes, " + media + " files"]));
    var findings = summary.findings || 0;
    tr.appendChild(cell("td", "Findings", [
      findings === 0 ? "none" : span("warn", "\u26a0 " + findings + (findings === 1 ? " finding" : " findings"))
    ]));
    return tr;
  }

  function place(summary, kind) {
    if (!matches(summary)) {
      return;
    }
    // A revision that replaced older ids (when the summary says so) takes their rows' place.
    list(summary.replaces).forEach(function (old) {
      var stale = document.getElementById("row-" + old);
      if (stale && old !== summary.interaction_id) {
        stale.parentNode.removeChild(stale);
      }
    });
    var fresh = row(summary, kind);
    var existing = document.getElementById(fresh.id);
    var empty = tbody.querySelector("tr.empty");
    if (empty) {
      empty.parentNode.removeChild(empty);
    }
    if (existing) {
      existing.parentNode.replaceChild(fresh, existing);
    } else {
      tbody.insertBefore(fresh, tbody.firstChild);
      arrived += 1;
    }
    if (status) {
      status.textContent = arrived + (arrived === 1 ? " new interaction" : " new interactions") +
        " arrived while this page was open (marked \u201clive\u201d).";
    }
  }

  // Live rows count their time at the current site.
  window.setInterval(function () {
    Array.prototype.forEach.call(tbody.querySelectorAll("time.since"), function (since) {
      since.textContent = elapsed(since.getAttribute("datetime"));
    });
  }, 1000);

  var source = new EventSource(table.getAttribute("data-stream") || "/ui/stream");
  ["created", "updated", "completed"].forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      try {
        place(JSON.parse(event.data), kind);
      } catch (error) {
        // A malformed event is skipped; the next one may be fine.
      }
    });
  });
  source.addEventListener("lagged", function () {
    if (status) {
      status.textContent = "Some live updates were missed: reload the page to see everything.";
    }
  });
  table.setAttribute("data-live-connected", "yes");
})();
