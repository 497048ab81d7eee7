// callstitch web UI: the interaction page. A click or tap on an event's row of the ladder
// opens that event in the raw events list, with every attribute; the
// event's address (#ev-…) goes into the URL so it can be pasted into a ticket, and such an
// address opens its event when the page loads. Buttons open or close every event of a call.
// Everything works without this script: each event opens on its own click or tap.
(function () {
  "use strict";

  function callOf(event) {
    var node = event.parentNode;
    while (node && !(node.tagName === "DETAILS" && !node.classList.contains("ev"))) {
      node = node.parentNode;
    }
    return node;
  }

  function show(event, focus) {
    var call = callOf(event);
    if (call) {
      call.open = true;
    }
    event.open = true;
    event.scrollIntoView({ block: "center" });
    var summary = event.querySelector("summary");
    if (focus && summary) {
      summary.focus({ preventScroll: true });
    }
    event.classList.remove("flash");
    void event.offsetWidth;
    event.classList.add("flash");
  }

  // The event of the raw events list that a drawn row names: by its site and `file:line`
  // (data-site, data-source: what the ladder writes), or by its place among the events the
  // picture was drawn from (data-event).
  function eventFor(drawn) {
    var site = drawn.getAttribute("data-site");
    var source = drawn.getAttribute("data-source");
    var events = document.querySelectorAll("details.ev");
    for (var i = 0; i < events.length; i++) {
      var event = events[i];
      if (source !== null && event.getAttribute("data-source") === source &&
          (site === null || event.getAttribute("data-site") === site)) {
        return event;
      }
      if (source === null && drawn.getAttribute("data-event") !== null &&
          event.getAttribute("data-index") === drawn.getAttribute("data-event")) {
        return event;
      }
    }
    return null;
  }

  function open(drawn) {
    var event = eventFor(drawn);
    if (!event) {
      return false;
    }
    show(event, true);
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + event.id);
    }
    return true;
  }

  var ROWS = ".ladder g.event, .ladder [data-event], .timeline [data-event]";

  document.addEventListener("click", function (click) {
    var target = click.target;
    if (!target || !target.closest) {
      return;
    }
    var drawn = target.closest(ROWS);
    if (drawn && open(drawn)) {
      click.preventDefault();
    }
  });

  // The ladder's rows are for the mouse and touch; with the keyboard every event is reached
  // in the raw events list, which is the same content.

  function openFromHash() {
    var id = decodeURIComponent((location.hash || "").slice(1));
    if (id.indexOf("ev-") === 0) {
      var event = document.getElementById(id);
      if (event && event.tagName === "DETAILS") {
        show(event, true);
      }
    }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();

  // "Open all" / "Close all" per call.
  Array.prototype.forEach.call(document.querySelectorAll("#events details:not(.ev)"), function (call) {
    var list = call.querySelector("ol.events");
    if (!list) {
      return;
    }
    var bar = document.createElement("div");
    bar.className = "ev-tools";
    [["Open all events", true], ["Close all", false]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "quiet";
      button.textContent = spec[0];
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(list.querySelectorAll("details.ev"), function (event) {
          event.open = spec[1];
        });
      });
      bar.appendChild(button);
    });
    list.parentNode.insertBefore(bar, list.previousElementSibling);
  });
})();
