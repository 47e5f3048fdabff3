// Pages that update themselves: an EventSource per page (data-live="/events/..."); each event
// carries server-rendered HTML for the element whose data-live-region names the event.
(function () {
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) return;
  var badge = document.getElementById("live-badge");
  var es = new EventSource(root.getAttribute("data-live"));
  es.onopen = function () { if (badge) badge.hidden = false; };
  es.onerror = function () { if (badge) badge.hidden = true; };
  document.querySelectorAll("[data-live-region]").forEach(function (el) {
    es.addEventListener(el.getAttribute("data-live-region"), function (ev) { el.innerHTML = ev.data; });
  });
  es.addEventListener("counts", function (ev) {
    var c = JSON.parse(ev.data);
    Object.keys(c).forEach(function (k) { var el = document.getElementById("n-" + k); if (el) el.textContent = c[k]; });
  });
})();
// Drag and drop onto an upload zone fills its file input and submits the form.
(function () {
  document.querySelectorAll(".dropzone").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (e) { zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.add("over"); }); });
    ["dragleave", "drop"].forEach(function (e) { zone.addEventListener(e, function () { zone.classList.remove("over"); }); });
    zone.addEventListener("drop", function (ev) { ev.preventDefault(); input.files = ev.dataTransfer.files; zone.closest("form").submit(); });
  });
})();
// File pickers show the chosen names in Vietnamese (the browser's own label follows the OS language).
(function () {
  document.querySelectorAll(".filepick input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var out = input.parentNode.querySelector(".filenames");
      var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
      out.textContent = names.length ? names.join(", ") : "Chưa chọn tệp nào";
    });
  });
})();
// Small behaviours without inline script (the pages' Content-Security-Policy allows none).
(function () {
  document.querySelectorAll("img[data-fallback]").forEach(function (img) {
    img.addEventListener("error", function () { img.replaceWith(img.getAttribute("data-fallback")); });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) { if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (b) { b.addEventListener("click", function () { window.print(); }); });
  document.querySelectorAll("a[data-back]").forEach(function (a) {
    a.addEventListener("click", function (ev) { if (window.history.length > 1) { ev.preventDefault(); window.history.back(); } });
  });
})();
