// The incident page's trace graph: Cytoscape.js (npm, served from /static/vendor/) draws the
// lot's upstream and downstream holdings from the JSON the server put in
// #incident-graph[data-graph], beside the tables that list the same holdings.
//
// Layout: a layered drawing of our own (preset positions), one layer per step from the lot
// searched (rank < 0 upstream, 0 the lot, > 0 downstream), left to right on a wide screen and
// top to bottom on a phone; within a layer, nodes sit at the mean position of their
// neighbours in the layer before (one barycentre pass each way), which keeps most links
// straight. A plain script with no inline code, so it runs under the page's CSP.
(function () {
  "use strict";

  var COLORS = {
    fail: { fill: "#fde8e6", line: "#b42318" },
    pass: { fill: "#e3f4e8", line: "#1b7f3b" },
    none: { fill: "#eceff3", line: "#7b8794" }
  };
  var NARROW = 640; // px: below this the graph runs top to bottom

  // Positions of the nodes: one layer per rank, left to right (or top to bottom when
  // ``vertical``); a layer with more nodes than fit across (``wrap`` on a phone, 16 on a wide
  // screen) is folded into several rows (columns), so every holding stays readable.
  function layered(nodes, edges, vertical, wrap) {
    var byRank = {};
    var rankOf = {};
    nodes.forEach(function (n) {
      (byRank[n.data.rank] = byRank[n.data.rank] || []).push(n.data.id);
      rankOf[n.data.id] = n.data.rank;
    });
    var ranks = Object.keys(byRank).map(Number).sort(function (a, b) { return a - b; });
    var neighbours = {};
    edges.forEach(function (e) {
      (neighbours[e.data.source] = neighbours[e.data.source] || []).push(e.data.target);
      (neighbours[e.data.target] = neighbours[e.data.target] || []).push(e.data.source);
    });
    var order = {};
    ranks.forEach(function (r) {
      byRank[r].sort();
      byRank[r].forEach(function (id, i) { order[id] = i; });
    });
    // Outwards from the lot searched, each node at the mean place of its neighbours in the
    // layer before it (downstream ranks upwards, upstream ranks downwards).
    function sweep(sequence) {
      sequence.forEach(function (r) {
        var previous = r + (r < 0 ? 1 : -1);
        byRank[r].forEach(function (id) {
          var around = (neighbours[id] || []).filter(function (o) {
            return rankOf[o] === previous;
          });
          var sum = around.reduce(function (s, o) { return s + order[o]; }, 0);
          order[id] = around.length ? sum / around.length : order[id];
        });
        byRank[r].sort(function (a, b) { return order[a] - order[b] || (a < b ? -1 : 1); });
        byRank[r].forEach(function (id, i) { order[id] = i; });
      });
    }
    sweep(ranks.filter(function (r) { return r > 0; }));
    sweep(ranks.filter(function (r) { return r < 0; }).reverse());
    // A layer is one or more lines (a row on a phone, a column on a wide screen) of at most
    // ``perLine`` nodes; ``step`` separates the lines of a layer, ``gap`` is added between
    // layers, ``across`` separates the nodes of a line.
    var perLine = vertical ? Math.max(1, wrap) : 16;
    var step = vertical ? 70 : 190;
    var gap = vertical ? 50 : 15;
    var across = vertical ? 150 : 62;
    var positions = {};
    var at = 0;
    ranks.forEach(function (r) {
      var ids = byRank[r];
      var lines = Math.ceil(ids.length / perLine);
      ids.forEach(function (id, i) {
        var line = Math.floor(i / perLine);
        var inLine = Math.min(perLine, ids.length - line * perLine);
        var offset = (i % perLine - (inLine - 1) / 2) * across;
        var along = at + line * step;
        positions[id] = vertical ? { x: offset, y: along } : { x: along, y: offset };
      });
      at += lines * step + gap;
    });
    return positions;
  }

  function text(tag, content, className) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    el.textContent = content;
    return el;
  }

  function start() {
    var box = document.getElementById("incident-graph");
    if (!box || typeof window.cytoscape !== "function") { return; }
    var graph = JSON.parse(box.getAttribute("data-graph"));
    var words = graph.words;
    var vertical = box.clientWidth < NARROW;
    var positions = layered(graph.nodes, graph.edges, vertical,
                            Math.max(2, Math.floor(box.clientWidth / 150)));
    var cy = window.cytoscape({
      container: box,
      elements: graph.nodes.concat(graph.edges),
      layout: { name: "preset", positions: positions, fit: true, padding: 24 },
      minZoom: 0.15,
      maxZoom: 2.5,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      style: [
        { selector: "node", style: {
          "shape": "round-rectangle",
          "width": vertical ? 140 : 150,
          "height": 44,
          "label": "data(label)",
          "text-wrap": "wrap",
          "text-max-width": vertical ? 136 : 144,
          "line-height": 1.25,
          "text-valign": "center",
          "text-halign": "center",
          "font-size": 13,
          "font-family": "\"PingFang SC\", \"Noto Sans CJK SC\", \"WenQuanYi Micro Hei\", " +
                         "\"Microsoft YaHei\", sans-serif",
          "color": "#1f2933",
          "background-color": function (n) { return COLORS[n.data("inspection")].fill; },
          "border-color": function (n) { return COLORS[n.data("inspection")].line; },
          "border-width": 1.5
        } },
        { selector: "node[?end]", style: { "shape": "cut-rectangle" } },
        { selector: "node[?recalled]", style: { "border-style": "double", "border-width": 5,
                                                "border-color": "#c2410c" } },
        { selector: "node[?start]", style: { "border-width": 4, "font-weight": "bold",
                                             "border-color": "#073763",
                                             "border-style": "solid" } },
        { selector: "node:selected", style: { "overlay-color": "#0b5394",
                                              "overlay-opacity": 0.18, "overlay-padding": 6 } },
        { selector: "edge", style: {
          "width": 1.6,
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "line-color": "#9aa5b1",
          "target-arrow-color": "#9aa5b1",
          "label": "data(amount)",
          "font-size": 10,
          "min-zoomed-font-size": 7,
          "color": "#52606d",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.85,
          "text-background-padding": 2,
          "text-rotation": "autorotate"
        } },
        { selector: "edge[kind = 'production']", style: { "line-style": "dashed" } },
        { selector: "edge:selected", style: { "line-color": "#0b5394",
                                              "target-arrow-color": "#0b5394", "width": 3 } },
        { selector: ".faded", style: { "opacity": 0.15 } },
        { selector: ".hidden", style: { "display": "none" } }
      ]
    });

    var detail = document.getElementById("graph-detail");

    function mark(id) {
      var rows = document.querySelectorAll("tr[data-node]");
      Array.prototype.forEach.call(rows, function (row) {
        row.classList.toggle("selected", row.getAttribute("data-node") === id);
      });
    }

    function showNode(node) {
      var d = node.data();
      detail.replaceChildren();
      detail.appendChild(text("h3", d.name || d.holder));
      var line = (d.product ? d.product + " · " : "") + d.gtin + " / " + d.lot;
      detail.appendChild(text("p", line, "code"));
      var flags = document.createElement("p");
      flags.appendChild(text("span", words["inspection_" + d.inspection],
                             "status status-" + d.inspection));
      if (d.recalled) { flags.appendChild(text("span", words.recalled, "flag flag-overdue")); }
      if (d.start) { flags.appendChild(text("span", words.start, "badge")); }
      if (!d.name) { flags.appendChild(text("span", words.off_ledger, "muted")); }
      detail.appendChild(flags);
      var list = document.createElement("dl");
      ["produced", "received", "passed_on", "used", "held"].forEach(function (name) {
        var amount = d.amounts[name];
        if (amount === null || amount === undefined) { return; }
        var pair = document.createElement("div");
        pair.appendChild(text("dt", words[name]));
        pair.appendChild(text("dd", amount));
        list.appendChild(pair);
      });
      detail.appendChild(list);
      var actions = document.createElement("p");
      actions.className = "detail-actions";
      var open = text("a", words.open + " →", "button");
      open.href = d.url;
      open.id = "graph-open-lot";
      actions.appendChild(open);
      if (box.hasAttribute("data-may-recall")) {
        // the recall form is under the lot's own page: this lot's, or the one it leads to
        var order = text("a", words.order, "button danger");
        order.href = d.url + "#order-recall";
        order.id = "graph-order-recall";
        actions.appendChild(order);
      }
      detail.appendChild(actions);
      detail.hidden = false;
      mark(d.id);
      var row = document.querySelector("tr[data-node=\"" + CSS.escape(d.id) + "\"]");
      if (row && !vertical) { row.scrollIntoView({ block: "nearest" }); }
    }

    function showEdge(edge) {
      var d = edge.data();
      detail.replaceChildren();
      var from = edge.source().data();
      var to = edge.target().data();
      detail.appendChild(text("h3", d.label + " · " + d.amount));
      detail.appendChild(text("p", (from.name || from.holder) + " → " + (to.name || to.holder)));
      detail.appendChild(text("p", words.entries + ": " + d.seqs.map(function (s) {
        return "seq " + s;
      }).join(", "), "muted"));
      detail.hidden = false;
      mark(null);
    }

    cy.on("tap", "node", function (event) { showNode(event.target); });
    cy.on("tap", "edge", function (event) { showEdge(event.target); });
    cy.on("dbltap", "node", function (event) { window.location.href = event.target.data("url"); });
    cy.on("tap", function (event) {
      if (event.target === cy) { detail.hidden = true; mark(null); }
    });

    // A row of the tables selects its node (the graph and the tables are one view).
    Array.prototype.forEach.call(document.querySelectorAll("tr[data-node]"), function (row) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a")) { return; }
        var node = cy.getElementById(row.getAttribute("data-node"));
        if (node.nonempty()) {
          cy.elements().unselect();
          node.select();
          cy.animate({ center: { eles: node }, duration: 200 });
          showNode(node);
        }
      });
    });

    function show(side) {
      cy.batch(function () {
        cy.elements().removeClass("hidden");
        if (side !== "all") {
          cy.nodes().filter(function (n) { return n.data("sides").indexOf(side) < 0; })
            .addClass("hidden");
        }
      });
      cy.fit(cy.elements(":visible"), 24);
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-show]"), function (button) {
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(document.querySelectorAll("[data-show]"), function (b) {
          b.classList.toggle("active", b === button);
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        show(button.getAttribute("data-show"));
      });
    });
    var fit = document.querySelector("[data-fit]");
    if (fit) {
      fit.addEventListener("click", function () { cy.fit(cy.elements(":visible"), 24); });
    }

    // For people and tests: what was drawn.
    box.setAttribute("data-nodes", String(cy.nodes().length));
    box.setAttribute("data-edges", String(cy.edges().length));
    box.classList.add("drawn");
    window.incidentGraph = cy;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
