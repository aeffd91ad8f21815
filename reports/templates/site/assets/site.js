// ciblage static site: sortable and filterable tables, no server, no dependency.
(function () {
  "use strict";
  function norm(s) {
    return (s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  function cellValue(row, i, numeric) {
    var cell = row.cells[i];
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent.trim(); }
    if (numeric) { var n = parseFloat(String(v).replace(",", ".")); return isNaN(n) ? -Infinity : n; }
    return norm(v);
  }
  function sortTable(table, i, th) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var numeric = th.getAttribute("data-type") === "num";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, i, numeric), y = cellValue(b, i, numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function applyFilter(table) {
    var box = document.getElementById("filtre");
    var min = document.getElementById("potentiel-min");
    var words = norm(box ? box.value : "").split(/\s+/).filter(Boolean);
    var minValue = min ? parseFloat(min.value) || 0 : 0;
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var text = norm(row.textContent);
      var pot = parseFloat(row.getAttribute("data-potentiel") || "0");
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) && pot >= minValue;
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    // the map shows what the table shows
    var shownSirets = {};
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var s = row.getAttribute("data-siret");
      if (s && !row.hidden) { shownSirets[s] = true; }
    });
    if (table.tBodies[0].rows.length && table.tBodies[0].rows[0].getAttribute("data-siret")) {
      Array.prototype.forEach.call(document.querySelectorAll(".carte [data-siret]"), function (dot) {
        dot.style.display = shownSirets[dot.getAttribute("data-siret")] ? "" : "none";
      });
      document.dispatchEvent(new CustomEvent("ciblage:filtre", { detail: shownSirets }));
    }
    var counter = document.getElementById("compteur");
    if (counter) {
      var forms = (table.getAttribute("data-compteur") || "entreprise affichée|entreprises affichées").split("|");
      counter.textContent = shown + " " + (shown > 1 ? forms[1] : forms[0]);
    }
  }
  // Interactive map (Leaflet, vendored): every company placed, approximate points
  // (commune centre) drawn lighter and dashed, background tiles only when online, and the
  // points alone, with a note, when the tiles cannot be loaded.
  function note(block, text) {
    var p = document.createElement("p");
    p.className = "note carte-note";
    p.textContent = text;
    block.appendChild(p);
  }
  function buildMap(block) {
    var points = JSON.parse(block.getAttribute("data-carte") || "[]");
    if (!window.L || !points.length) { return; }
    var div = document.createElement("div");
    div.className = "carte-leaflet";
    block.insertBefore(div, block.firstChild);
    block.classList.add("avec-leaflet");
    var map = L.map(div, { scrollWheelZoom: false });
    var tiles = block.getAttribute("data-tuiles");
    if (tiles && navigator.onLine) {
      var failed = false;
      L.tileLayer(tiles, { maxZoom: 19, attribution: "© contributeurs OpenStreetMap" })
        .on("tileerror", function () {
          if (!failed) { failed = true; note(block, "Fond de carte indisponible (pas de réseau ?) : seuls les points sont affichés."); }
        })
        .addTo(map);
    } else {
      note(block, "Hors ligne : fond de carte non chargé, les entreprises restent placées.");
    }
    var markers = {};
    var bounds = [];
    points.forEach(function (p) {
      var m = L.circleMarker([p.la, p.lo], {
        radius: 5 + 6 * p.z, color: "#000091", weight: 1.5,
        fillOpacity: p.p ? 0.7 : 0.25, dashArray: p.p ? null : "3 3"
      }).bindTooltip(p.l);
      if (p.h) { m.on("click", function () { window.location.href = p.h; }); }
      m.addTo(map);
      markers[p.s] = m;
      bounds.push([p.la, p.lo]);
    });
    if (bounds.length === 1) { map.setView(bounds[0], 15); } else { map.fitBounds(bounds, { padding: [20, 20] }); }
    block.setAttribute("data-markers", String(points.length));
    document.addEventListener("ciblage:filtre", function (ev) {
      var shown = 0;
      Object.keys(markers).forEach(function (s) {
        if (ev.detail[s]) { markers[s].addTo(map); shown += 1; } else { markers[s].remove(); }
      });
      block.setAttribute("data-markers", String(shown));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".carte-bloc"), buildMap);
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        th.addEventListener("click", function () { sortTable(table, i, th); });
        th.title = "Cliquer pour trier";
      });
      ["filtre", "potentiel-min"].forEach(function (id) {
        var el = document.getElementById(id);
        if (el) { el.addEventListener("input", function () { applyFilter(table); }); }
      });
      applyFilter(table);
    });
  });
})();
