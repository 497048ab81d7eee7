// callstitch web UI: the interaction page. A click on an event of the ladder (or of the
// journey timeline) opens that event in the raw events list, with every attribute; the
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

  function openIndex(index) {
    var event = document.querySelector('details.ev[data-index="' + String(index).replace(/[^0-9]/g, "") + '"]');
    if (!event) {
      return false;
    }
    show(event, true);
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + event.id);
    }
    return true;
  }

  document.addEventListener("click", function (click) {
    var target = click.target;
    if (!target || !target.closest) {
      return;
    }
    var drawn = target.closest("[data-event]");
    if (drawn && drawn.closest(".ladder, .timeline") && openIndex(drawn.getAttribute("data-event"))) {
      click.preventDefault();
    }
  });

  // Rows of the ladder are reachable with the keyboard too: Enter opens the event.
  document.addEventListener("keydown", function (key) {
    var target = key.target;
    if (key.key === "Enter" && target && target.getAttribute && target.getAttribute("data-event") !== null) {
      if (openIndex(target.getAttribute("data-event"))) {
        key.preventDefault();
      }
    }
  });

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
