// callstitch web UI: live rows of the search page. Interactions written while the page is
// open arrive over the UI's event stream (the events of /v1/stream) and are put among the
// results at their place by start time (newest first, as the store orders them) when they
// match the search. Everything else works without this script.
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

  // The start in microseconds, exactly as the server orders rows (Date.parse keeps
  // milliseconds only); 0 when unknown, as the store has it.
  function startMicros(summary) {
    var match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(summary.start || "");
    if (!match) {
      return 0;
    }
    var millis = Date.parse(match[1] + "Z");
    if (isNaN(millis)) {
      return 0;
    }
    var fraction = ((match[2] || "") + "000000").slice(0, 6);
    return millis * 1000 + Number(fraction);
  }

  function given(value) {
    return value !== null && value !== undefined && value !== "";
  }

  function matchesText(summary) {
    var uuid = function (text) { return list(summary.call_uuids).indexOf(text) >= 0; };
    var dn = function (text) {
      return list(summary.parties).indexOf(text) >= 0 || summary.ani === text || summary.dnis === text;
    };
    return (!given(filters.any_id) || uuid(filters.any_id) || dn(filters.any_id)) &&
      (!given(filters.call_uuid) || uuid(filters.call_uuid)) &&
      (!given(filters.dn) || dn(filters.dn));
  }

  function matches(summary) {
    var released = summary.released_by || {};
    var findings = summary.findings || 0;
    var start = startMicros(summary);
    return matchesText(summary) &&
      (!given(filters.site) || list(summary.sites).indexOf(filters.site) >= 0) &&
      (!given(filters.outcome) || summary.outcome === filters.outcome) &&
      (!given(filters.released_by) || released.who === filters.released_by || released.dn === filters.released_by) &&
      (filters.has_findings !== true || findings > 0) &&
      (filters.has_findings !== false || findings === 0) &&
      (!given(filters.complete) || summary.complete === filters.complete) &&
      (!given(filters.state) || summary.state === filters.state) &&
      (!given(filters.from_us) || start >= filters.from_us) &&
      (!given(filters.to_us) || start < filters.to_us);
  }

  // "3.2 s", "42 s", "3 min 05 s", "1 h 02 min", as the server writes durations.
  function durationText(seconds) {
    seconds = Math.max(0, seconds);
    if (seconds < 10) {
      return seconds.toFixed(1) + " s";
    }
    var whole = Math.round(seconds);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (whole < 60) {
      return whole + " s";
    }
    if (whole < 3600) {
      return Math.floor(whole / 60) + " min " + two(whole % 60) + " s";
    }
    return Math.floor(whole / 3600) + " h " + two(Math.floor(whole / 60) % 60) + " min";
  }

  // Start to end; while live (no end yet), start to now, counted on by the timer below.
  function durationParts(summary) {
    var start = startMicros(summary);
    if (summary.state === "live" && start) {
      var elapsedTime = document.createElement("time");
      elapsedTime.className = "elapsed";
      elapsedTime.setAttribute("datetime", summary.start || "");
      elapsedTime.textContent = soFar(elapsedTime.getAttribute("datetime"));
      return [elapsedTime];
    }
    var end = startMicros({ start: summary.end });
    if (!start || !end) {
      return [span("muted", "unknown")];
    }
    return [durationText((end - start) / 1e6)];
  }

  function soFar(startText) {
    var start = startMicros({ start: startText });
    return start ? durationText((Date.now() * 1000 - start) / 1e6) + " so far" : "";
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
    tr.setAttribute("data-start", String(startMicros(summary)));

    var link = document.createElement("a");
    link.className = "open";
    link.href = "/i/" + encodeURIComponent(id);
    link.textContent = id;
    tr.appendChild(cell("th", "Interaction", [link, " ", span("badge", "live: " + kind)]));

    var time = document.createElement("time");
    time.setAttribute("datetime", summary.start || "");
    time.textContent = shortTime(summary.start);
    tr.appendChild(cell("td", "Start", [time]));
    var duration = cell("td", "Duration", durationParts(summary));
    duration.className = "duration";
    tr.appendChild(duration);
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

  // Row a sorts before row b: a later start, or the same start and a higher id (the
  // store's order).
  function sortsBefore(startA, idA, startB, idB) {
    return startA > startB || (startA === startB && idA > idB);
  }

  // Puts a row at its place by start time. A row older than every row shown while older
  // pages exist belongs to one of them: it is not shown here. True when it was placed.
  function insertByStart(fresh) {
    var start = Number(fresh.getAttribute("data-start")) || 0;
    var id = fresh.getAttribute("data-id") || "";
    var rows = tbody.querySelectorAll("tr[data-id]");
    for (var i = 0; i < rows.length; i += 1) {
      var other = rows[i];
      if (sortsBefore(start, id, Number(other.getAttribute("data-start")) || 0, other.getAttribute("data-id") || "")) {
        tbody.insertBefore(fresh, other);
        return true;
      }
    }
    if (table.getAttribute("data-more") === "yes") {
      return false;
    }
    tbody.appendChild(fresh);
    return true;
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
    // Written again: its start may have moved (late evidence gave it an earlier call).
    if (existing) {
      existing.parentNode.removeChild(existing);
    }
    if (!insertByStart(fresh) || existing) {
      return;
    }
    var empty = tbody.querySelector("tr.empty");
    if (empty) {
      empty.parentNode.removeChild(empty);
    }
    arrived += 1;
    if (status) {
      status.textContent = arrived + (arrived === 1 ? " new interaction" : " new interactions") +
        " arrived while this page was open (marked \u201clive\u201d), each at its place by start time.";
    }
  }

  // Live rows count their time at the current site and their duration so far.
  window.setInterval(function () {
    Array.prototype.forEach.call(tbody.querySelectorAll("time.since"), function (since) {
      since.textContent = elapsed(since.getAttribute("datetime"));
    });
    Array.prototype.forEach.call(tbody.querySelectorAll("time.elapsed"), function (elapsedTime) {
      elapsedTime.textContent = soFar(elapsedTime.getAttribute("datetime"));
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
