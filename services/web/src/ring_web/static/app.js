// Ring web app: the only script of the pages besides htmx. Two jobs:
// live updates (Server-Sent Events from /live re-read the page's live region), and checking
// voucher files before upload (drag and drop, several files, size and type shown at once).
(function () {
  "use strict";

  function startLive() {
    var marker = document.getElementById("live");
    if (!marker || !window.EventSource) { return; }
    var query = marker.dataset.topics.split(" ").map(function (t) {
      return "topic=" + encodeURIComponent(t);
    }).join("&");
    var source = new EventSource("/live?" + query);
    var pending = false;

    // Something typed into the live region (a rejection reason, say) must not be swapped away:
    // the refresh waits until the field is left empty or the form is sent.
    function typing(region) {
      return Array.prototype.some.call(
        region.querySelectorAll("input:not([type=hidden]), textarea"),
        function (field) { return field.value !== "" && field.type !== "radio"; }
      );
    }

    function refresh() {
      var region = document.getElementById("live-region");
      if (!region) { return; }
      if (typing(region)) {
        pending = true;
        return;
      }
      pending = false;
      htmx.ajax("GET", window.location.href, {
        target: "#live-region", select: "#live-region", swap: "outerHTML"
      }).then(function () {
        marker.textContent = marker.dataset.updated + " " + new Date().toLocaleTimeString();
      });
    }

    source.addEventListener("change", refresh);
    // A re-read already on its way when typing started is dropped too, and done again later.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var region = document.getElementById("live-region");
      if (region && event.detail.target === region && typing(region)) {
        event.detail.shouldSwap = false;
        pending = true;
      }
    });
    document.addEventListener("focusout", function () {
      if (pending) { window.setTimeout(refresh, 0); }
    });
    source.addEventListener("signed-out", function () { source.close(); });
  }

  function checkUploads(form) {
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector(".chosen");
    var problem = form.querySelector(".client-error");
    var zone = form.querySelector(".dropzone");
    var maxBytes = parseInt(form.dataset.maxBytes, 10);
    var maxFiles = parseInt(form.dataset.maxFiles, 10);
    var allowed = input.accept.split(",");

    function check() {
      var errors = [];
      list.innerHTML = "";
      var files = Array.prototype.slice.call(input.files);
      if (files.length > maxFiles) {
        errors.push(form.dataset.msgCount.replace("{n}", maxFiles));
      }
      files.forEach(function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
        list.appendChild(item);
        if (file.size > maxBytes) {
          errors.push(form.dataset.msgSize.replace("{name}", file.name)
            .replace("{mb}", Math.floor(maxBytes / 1048576)));
        }
        if (allowed.indexOf(file.type) < 0) {
          errors.push(form.dataset.msgType.replace("{name}", file.name));
        }
      });
      problem.textContent = errors.join(" ");
      problem.hidden = errors.length === 0;
      return errors.length === 0;
    }

    input.addEventListener("change", check);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      input.files = event.dataTransfer.files;
      check();
    });
    form.addEventListener("submit", function (event) {
      if (!check()) { event.preventDefault(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startLive();
    Array.prototype.forEach.call(document.querySelectorAll("form.upload"), checkUploads);
  });
})();
