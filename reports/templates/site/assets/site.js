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
  // Pages whose lines are data (a list page's #lignes, the fiche files, a match page's
  // #fiches-donnees): drawn here with textContent, so no value is read as HTML.
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return e;
  }
  function txt(v) { return v === null || v === undefined ? "" : String(v); }
  function dataOf(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function badges(r) {
    var out = (r.flags || []).map(function (f) { return el("span", { "class": "badge" }, [f]); });
    if (r.cooldown !== null && r.cooldown !== undefined) {
      out.push(el("span", { "class": "badge pause", title: r.cooldown }, ["En pause"]));
    }
    return out;
  }
  function renderRows(table, rows) {
    var body = table.tBodies[0];
    rows.forEach(function (r) {
      var name = [el("a", { href: "fiche.html#" + r.siret }, [r.name])];
      if (r.enseigne) { name.push(el("br"), el("small", {}, [r.enseigne])); }
      body.appendChild(el("tr", { "data-potentiel": r.potential, "data-siret": r.siret }, [
        el("td", { "class": "num" }, [r.rank]),
        el("td", {}, name),
        el("td", {}, [txt(r.commune)]),
        el("td", {}, [txt(r.naf)]),
        el("td", { "data-sort": txt(r.tranche) }, [txt(r.tranche_label)]),
        el("td", { "class": "num" }, [r.potential]),
        el("td", { "class": "num", "data-sort": r.stars }, [
          el("span", { "class": "etoiles", title: r.stars + " sur 5" }, [r.stars_text])
        ]),
        el("td", { "data-sort": r.expected }, [r.expected_fr]),
        el("td", {}, [(r.reasons || []).join(" ; ")]),
        el("td", { "data-sort": r.last_offer_sort }, [r.last_offer]),
        el("td", {}, badges(r))
      ]));
    });
  }
  function link(href, text) { return el("a", { href: href, rel: "noopener" }, [text]); }
  function definitions(pairs) {
    var dl = el("dl");
    pairs.forEach(function (p) { dl.appendChild(el("dt", {}, [p[0]])); dl.appendChild(el("dd", {}, [p[1]])); });
    return dl;
  }
  function renderFiche(f, level) {
    var h = "h" + (level + 1);
    var box = el("div", { "class": "fiche", id: "fiche-" + f.siret });
    box.appendChild(el("h" + level, { "class": "nom" }, [f.name]));
    if (f.enseigne && f.enseigne !== f.name) { box.appendChild(el("p", {}, ["Enseigne : " + f.enseigne])); }
    box.appendChild(el("p", {}, badges({ flags: f.flags })));
    if (f.in_cooldown) {
      box.appendChild(el("p", { "class": "badge pause" }, ["En pause (suivi des promotions) : " + txt(f.cooldown_reason)]));
    }
    box.appendChild(el(h, {}, ["Pourquoi la contacter"]));
    var reasons = (f.reasons || []).length ? f.reasons : ["Aucune raison détaillée disponible."];
    box.appendChild(el("ul", { "class": "raisons" }, reasons.map(function (r) { return el("li", {}, [r]); })));
    box.appendChild(el(h, {}, ["Comment la joindre"]));
    var contact = el("div", { "class": "contact" });
    if ((f.contacts || []).length) {
      var dl = el("dl");
      f.contacts.forEach(function (c) {
        dl.appendChild(el("dt", {}, [c.label]));
        dl.appendChild(el("dd", {}, [c.href ? link(c.href, c.value) : txt(c.value)]));
      });
      contact.appendChild(dl);
      if (f.contact_date_fr) { contact.appendChild(el("p", { "class": "note" }, ["contact vu dans l'offre du " + f.contact_date_fr])); }
    } else {
      contact.appendChild(el("p", {}, ["Aucun moyen de contact publié dans ses offres d'emploi : passer par l'adresse ci-dessous ou par sa page publique."]));
    }
    var pub = el("p", { "class": "liens-publics" }, ["Pages publiques : "]);
    if (f.annuaire_url) { pub.appendChild(link(f.annuaire_url, "Annuaire des entreprises")); }
    if (f.osm_url) { pub.appendChild(document.createTextNode(" · ")); pub.appendChild(link(f.osm_url, "OpenStreetMap")); }
    contact.appendChild(pub);
    box.appendChild(contact);
    box.appendChild(el(h, {}, ["Potentiel d'embauche"]));
    box.appendChild(el("table", { "class": "listes-fiche" }, [
      el("thead", {}, [el("tr", {}, ["Métier", "Rang", "Potentiel", "Étoiles", "Embauches probables"].map(function (t) { return el("th", {}, [t]); }))]),
      el("tbody", {}, (f.lists || []).map(function (l) {
        return el("tr", {}, [
          el("td", {}, [l.code_rome + " " + txt(l.rome_label)]),
          el("td", { "class": "num" }, [l.rank]),
          el("td", { "class": "num" }, [l.hiring_potential + "/100"]),
          el("td", {}, [el("span", { "class": "etoiles" }, [l.stars_text])]),
          el("td", {}, [l.expected_fr])
        ]);
      }))
    ]));
    if ((f.top_romes || []).length) {
      box.appendChild(el("p", {}, ["Métiers où l'établissement recrute le plus (toutes listes) : " + f.top_romes.map(function (t) {
        return t.code_rome + " " + txt(t.rome_label) + " (" + t.hiring_potential + "/100)";
      }).join(", ") + "."]));
    }
    box.appendChild(el(h, {}, ["Identité"]));
    var id = [["SIRET", f.siret], ["Adresse", txt(f.address_full)],
      ["Activité", f.naf_code + " " + txt(f.naf_label)], ["Effectif", f.tranche_effectifs_label || "non connu"]];
    if (f.categorie_entreprise) { id.push(["Catégorie d'entreprise", f.categorie_entreprise]); }
    if (f.etablissements_actifs) { id.push(["Établissements actifs de l'entreprise", txt(f.etablissements_actifs)]); }
    if (f.date_creation_fr) { id.push(["Création", f.date_creation_fr]); }
    id.push(["Potentiel de l'établissement (tous métiers)",
      (f.hiring_potential_etablissement === null ? "non connu" : f.hiring_potential_etablissement) + "/100"]);
    id.push(["Offres publiées (12 mois)", txt(f.offers_12m)]);
    box.appendChild(definitions(id));
    box.appendChild(el(h, {}, ["Dernières offres vues"]));
    var offers = (f.offers || []).length ? f.offers : ["Aucune offre rattachée à cet établissement."];
    box.appendChild(el("ul", { "class": "offres-fiche" }, offers.map(function (o) { return el("li", {}, [o]); })));
    box.appendChild(el(h, {}, ["Aides à l'embauche mobilisables"]));
    var aids = el("div", { "class": "aides-fiche" });
    (f.aids || []).forEach(function (a) {
      aids.appendChild(el("div", { "class": "aide" }, [
        el("span", { "class": "statut" }, [a.nom + " — " + a.statut]), el("br"),
        "Pourquoi : " + a.pourquoi, el("br"), txt(a.resume), el("br"),
        el("span", { "class": "note" }, ["Source : ", el("a", { href: a.source }, [a.source]), " (" + txt(a.fraicheur) + ")"])
      ]));
    });
    if (!(f.aids || []).length) { aids.appendChild(el("p", {}, ["Aucune aide identifiée."])); }
    box.appendChild(aids);
    if (f.map && f.map.length) {
      box.appendChild(el(h, {}, ["Localisation"]));
      var block = el("div", { "class": "carte-bloc", "data-carte": JSON.stringify(f.map), "data-tuiles": TILES });
      box.appendChild(block);
    }
    return box;
  }
  var TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  function plural(n, one, many) { return n + " " + (n > 1 ? many : one); }
  // The note of a short list: how many companies, and where to widen the search.
  function shortNote(code, note) {
    var box = el("div", { "class": "liste-courte", role: "note" });
    var head = el("p", {}, [el("strong", {}, ["Liste courte : " + plural(note.n, "entreprise", "entreprises")]),
      " " + (note.n === 1 ? "a" : "ont") + " une chance réelle d'embaucher dans ce métier ici" +
      (note.min_potential ? " (potentiel d'au moins " + note.min_potential + "/100)" : "") +
      " ; les listes en comptent jusqu'à " + note.top_n + "."]);
    box.appendChild(head);
    var items = [];
    if ((note.neighbours || []).length) {
      var li = el("li", {}, ["territoires voisins : "]);
      note.neighbours.forEach(function (a, i) {
        if (i) { li.appendChild(document.createTextNode(", ")); }
        li.appendChild(el("a", { href: "../" + a.code + "/liste.html#" + code }, [a.name]));
        li.appendChild(document.createTextNode(" (" + plural(a.n, "entreprise", "entreprises") + ")"));
      });
      items.push(li);
    }
    if ((note.trades || []).length) {
      var lt = el("li", {}, ["métiers proches qui recrutent ici : "]);
      note.trades.forEach(function (t, i) {
        if (i) { lt.appendChild(document.createTextNode(", ")); }
        lt.appendChild(el("a", { href: "liste.html#" + t.code_rome }, [t.rome_label || t.code_rome]));
        lt.appendChild(document.createTextNode(" (" + t.n + ")"));
      });
      items.push(lt);
    }
    if (items.length) { box.appendChild(el("p", {}, ["Pour élargir :"])); box.appendChild(el("ul", {}, items)); }
    return box;
  }
  // A list data file back in the shape the page draws (ciblage/publish/site_data.py,
  // compact_lists): lines are arrays in `colonnes` order; shared texts come from the file's
  // tables; the map point and the last offer's sort key are rebuilt from the line.
  function expandListes(packed) {
    var out = {};
    function shared(table, i) { return i === null || i === undefined ? null : table[i]; }
    function keyed(cols, values) {
      var x = {};
      cols.forEach(function (c, i) { x[c] = values[i]; });
      return x;
    }
    var companies = packed.entreprises.map(function (v) { return keyed(packed.colonnes_entreprise, v); });
    Object.keys(packed.metiers).forEach(function (code) {
      var t = packed.metiers[code];
      out[code] = { code_rome: code, label: t.label, note: t.note, rows: t.rows.map(function (v) {
        var x = keyed(packed.colonnes, v), c = companies[x.entreprise];
        var eff = shared(packed.effectifs, c.tranche) || [null, null];
        var st = shared(packed.etoiles, x.stars) || [null, ""];
        var d = /^(\d\d)\/(\d\d)\/(\d{4})/.exec(c.last_offer || "");
        return {
          rank: x.rank, siret: c.siret, name: c.name, enseigne: c.enseigne, commune: c.commune,
          naf: shared(packed.naf, c.naf), tranche: eff[0], tranche_label: eff[1],
          potential: x.potential, stars: st[0], stars_text: st[1], expected: x.expected,
          expected_fr: shared(packed.bandes, x.expected_fr), reasons: c.reasons,
          last_offer: c.last_offer, last_offer_sort: d ? d[3] + "-" + d[2] + "-" + d[1] : "",
          flags: c.flags, cooldown: x.cooldown,
          map: c.la === null ? null : {
            s: c.siret, la: c.la, lo: c.lo,
            l: c.name + " — " + (c.commune || "") + " (" + x.potential + "/100)" +
              (c.p ? "" : " — position approximative"),
            h: "", p: c.p, z: x.potential / 100
          }
        };
      }) };
    });
    return out;
  }
  window.ciblageExpandListes = expandListes;
  // The list page: the trade named by #ROME, from the data file that holds it.
  function listePage(page, table) {
    var index = JSON.parse(page.getAttribute("data-index") || "{}");
    var code = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    var title = document.getElementById("titre-liste");
    window.ciblageListes = function (packed) {
      var t = expandListes(packed)[code];
      if (!t) { return; }
      document.title = code + " " + txt(t.label) + " — " + document.title;
      document.getElementById("fil-metier").textContent = code;
      title.textContent = (t.label || code) + " ";
      title.appendChild(el("small", {}, ["(" + code + ")"]));
      var intro = document.getElementById("presentation");
      intro.appendChild(t.note ? shortNote(code, t.note) : el("p", {}, [
        "Les " + t.rows.length + " entreprises les plus susceptibles d'embaucher dans ce métier, classées par potentiel d'embauche."]));
      renderRows(table, t.rows);
      var points = t.rows.filter(function (r) { return r.map; }).map(function (r) {
        var p = {}; Object.keys(r.map).forEach(function (k) { p[k] = r.map[k]; });
        p.h = "fiche.html#" + r.siret;
        return p;
      });
      var block = el("div", { "class": "carte-bloc", "data-carte": JSON.stringify(points), "data-tuiles": TILES });
      document.getElementById("carte-liste").appendChild(block);
      buildMap(block);
      applyFilter(table);
    };
    window.addEventListener("hashchange", function () { window.location.reload(); });
    if (!(code in index)) {
      title.textContent = "Métier introuvable dans les listes de cette agence (« " + code + " »).";
      return;
    }
    var s = document.createElement("script");
    s.src = "listes/" + index[code] + ".js";
    document.head.appendChild(s);
  }
  // The fiche page: the company named by #SIRET, from the data file that holds it.
  function fichePage(page) {
    var files = parseInt(page.getAttribute("data-fichiers"), 10) || 1;
    var loaded = {};
    var fiches = {};
    function show() {
      var siret = decodeURIComponent(window.location.hash.replace(/^#/, ""));
      var k = /^\d{14}$/.test(siret) ? Number(siret) % files : -1;
      if (k >= 0 && !loaded[k]) {
        loaded[k] = true;
        var s = document.createElement("script");
        s.src = "fiches/" + k + ".js";
        s.onload = show;
        s.onerror = show;
        document.head.appendChild(s);
        return;
      }
      page.textContent = "";
      var f = fiches[siret];
      if (!f) {
        page.appendChild(el("p", { "class": "avertissement" }, ["Entreprise introuvable dans les listes de cette agence (SIRET « " + siret + " »)."]));
        return;
      }
      document.title = f.name + " — ciblage";
      page.appendChild(renderFiche(f, 1));
      Array.prototype.forEach.call(page.querySelectorAll(".carte-bloc"), buildMap);
    }
    // a fiche data file (site.py's compact_fiches): shared aid texts and trade labels
    // stored once, referred to by index
    window.ciblageFiches = function (part) {
      Object.keys(part.fiches).forEach(function (s) {
        var f = part.fiches[s];
        f.aids = (f.aids || []).map(function (i) { return part.aides[i]; });
        f.lists = (f.lists || []).map(function (l) {
          return { code_rome: l[0], rome_label: part.metiers[l[0]], rank: l[1], hiring_potential: l[2], stars_text: l[3], expected_fr: l[4] };
        });
        f.top_romes = (f.top_romes || []).map(function (t) {
          return { code_rome: t[0], rome_label: part.metiers[t[0]], hiring_potential: t[1] };
        });
        if (f.hiring_potential_etablissement === undefined) { f.hiring_potential_etablissement = null; }
        fiches[s] = f;
      });
    };
    window.addEventListener("hashchange", show);
    show();
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
    var listPage = document.getElementById("liste-page");
    if (listPage) { listePage(listPage, document.getElementById("liste")); }
    var matched = dataOf("fiches-donnees");
    var holder = document.getElementById("fiches");
    if (matched && holder) {
      var level = parseInt(holder.getAttribute("data-niveau"), 10) || 2;
      matched.forEach(function (f) { holder.appendChild(renderFiche(f, level)); });
    }
    var page = document.getElementById("fiche-page");
    if (page) { fichePage(page); }
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
