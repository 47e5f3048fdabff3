// Searchable pickers: a search box filters the options of the <select data-search=…> it names, by
// code or name, with or without Vietnamese diacritics. Without scripts the list still works.
(function () {
  "use strict";
  function fold(s) {
    return (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d").toLowerCase();
  }
  function wire(select) {
    var box = document.getElementById(select.getAttribute("data-search"));
    if (!box) return;
    var opts = Array.prototype.slice.call(select.options).map(function (o) { return [o, fold(o.text + " " + o.value)]; });
    box.addEventListener("input", function () {
      var words = fold(box.value).split(/\s+/).filter(Boolean), first = null;
      opts.forEach(function (p) {
        var show = !p[0].value || words.every(function (w) { return p[1].indexOf(w) >= 0; });
        p[0].hidden = !show;
        if (show && p[0].value && !first) first = p[0];
      });
      if (first && words.length) select.value = first.value;
    });
  }
  function init() { document.querySelectorAll("select[data-search]").forEach(wire); }  // [data-print]: live.js
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
