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
// The certification form: an officer whose key is in a remote signing service (CSC) enters the
// OTP once for the batch, or leaves it empty and approves on the phone; while the service is
// asked, a countdown shows how long the approval may still take.
(function () {
  var form = document.getElementById("certify-form");
  var select = document.getElementById("certify-officer");
  if (!form || !select) return;
  var secret = document.getElementById("certify-secret");
  var label = document.getElementById("secret-label");
  var hint = document.getElementById("secret-hint");
  var box = document.getElementById("remote-wait");
  function chosen() { return select.options[select.selectedIndex]; }
  function update() {
    var remote = chosen() && chosen().hasAttribute("data-remote-wait");
    var which = remote ? "data-remote" : "data-local";
    label.textContent = label.getAttribute(which);
    hint.textContent = hint.getAttribute(which);
    secret.required = !remote;
    secret.setAttribute("autocomplete", remote ? "one-time-code" : "off");
    secret.setAttribute("inputmode", remote ? "numeric" : "text");
  }
  select.addEventListener("change", update);
  update();
  form.addEventListener("submit", function (ev) {
    var opt = chosen();
    if (!opt || !opt.hasAttribute("data-remote-wait") || !window.fetch) return;
    // a remote signature may wait for the phone: submit in the background so the page (and its
    // countdown) stays alive, then show the answer page as a normal submission would
    ev.preventDefault();
    var left = parseInt(opt.getAttribute("data-remote-wait"), 10) || 120;
    var phone = !secret.value;
    function show() {
      box.textContent = left > 0
        ? (phone ? "Hãy phê duyệt yêu cầu ký trên điện thoại: còn " + left + " giây."
                 : "Đang gửi mã OTP và ký qua dịch vụ ký số từ xa: còn tối đa " + left + " giây.")
        : "Hết thời gian chờ phê duyệt: đang nhận kết quả từ máy chủ…";
    }
    box.hidden = false;
    show();
    var button = document.getElementById("certify-button");
    button.disabled = true;
    var timer = setInterval(function () { left -= 1; show(); if (left <= 0) clearInterval(timer); }, 1000);
    var body = new URLSearchParams(new FormData(form));
    secret.value = "";
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin", redirect: "follow"})
      .then(function (r) { return r.text().then(function (html) { return [r.url, html]; }); })
      .then(function (res) {
        clearInterval(timer);
        history.replaceState(null, "", res[0]);
        document.open();
        document.write(res[1]);
        document.close();
      })
      .catch(function () {
        clearInterval(timer);
        button.disabled = false;
        box.textContent = "Mất kết nối tới máy chủ: hãy tải lại trang để xem kết quả.";
      });
  });
})();
