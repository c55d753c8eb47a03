// The early-warning dashboard's charts (echarts, served by the app from npm). The figures come
// from the page's data-source as JSON: failure rates by month, category, class and district.
(function () {
  "use strict";
  var root = document.getElementById("risk-dashboard");
  if (!root || typeof echarts === "undefined") { return; }
  var charts = [];

  function percent(rate) { return rate === null ? null : Math.round(rate * 1000) / 10; }

  function pick(label, locale) { return locale === "en" ? label.en : label.zh; }

  function tooltip(words) {
    return {
      trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
      formatter: function (items) {
        var item = items[0].data.detail;
        return item.name + "<br>" + words["risk.failures"] + " " + item.failures + " / " +
          words["risk.inspections"] + " " + item.inspections + "<br>" + words["risk.rate"] + " " +
          (item.rate === null ? "—" : percent(item.rate) + "%");
      }
    };
  }

  function draw(id, option, height) {
    var element = document.getElementById(id);
    if (!element) { return; }
    if (height) { element.style.height = height + "px"; }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  function bars(id, title, rows, figures) {
    var top = rows.slice(0, 12).reverse();
    var narrow = root.clientWidth < 560;
    draw(id, {
      title: { text: title, textStyle: { fontSize: 14 } },
      tooltip: tooltip(figures.words),
      grid: { left: narrow ? 96 : 150, right: 56, top: 36, bottom: 24 },
      xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      yAxis: {
        type: "category", axisLabel: { width: narrow ? 88 : 140, overflow: "truncate" },
        data: top.map(function (row) { return pick(row.label, figures.locale); })
      },
      series: [{
        type: "bar", name: figures.words["risk.rate"], itemStyle: { color: "#c0392b" },
        label: { show: true, position: "right", formatter: "{c}%" },
        data: top.map(function (row) {
          return { value: percent(row.rate), detail: {
            name: pick(row.label, figures.locale), failures: row.failures,
            inspections: row.inspections, rate: row.rate } };
        })
      }]
    }, 84 + 30 * Math.max(top.length, 2));
  }

  function months(figures) {
    var words = figures.words;
    draw("chart-months", {
      title: { text: words["risk.chart.months"], textStyle: { fontSize: 14 } },
      tooltip: tooltip(words),
      legend: { top: 24, left: 0, data: [words["risk.inspections"], words["risk.rate"]] },
      grid: { left: 48, right: 48, top: 64, bottom: 28 },
      xAxis: { type: "category", data: figures.months.map(function (m) { return m.month; }) },
      yAxis: [
        { type: "value" },
        { type: "value", axisLabel: { formatter: "{value}%" } }
      ],
      series: [
        { type: "bar", name: words["risk.inspections"], itemStyle: { color: "#9db7d5" },
          data: figures.months.map(function (m) {
            return { value: m.inspections, detail: { name: m.month, failures: m.failures,
              inspections: m.inspections, rate: m.rate } };
          }) },
        { type: "line", name: words["risk.rate"], yAxisIndex: 1, itemStyle: { color: "#c0392b" },
          connectNulls: false,
          data: figures.months.map(function (m) {
            return { value: percent(m.rate), detail: { name: m.month, failures: m.failures,
              inspections: m.inspections, rate: m.rate } };
          }) }
      ]
    });
  }

  fetch(root.getAttribute("data-source"), { credentials: "same-origin",
                                            headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (figures) {
      var total = figures.months.reduce(function (sum, m) { return sum + m.inspections; }, 0);
      if (!total) {
        root.textContent = root.getAttribute("data-empty");
        root.classList.add("empty");
        return;
      }
      months(figures);
      bars("chart-category", figures.words["risk.chart.category"], figures.category, figures);
      bars("chart-class", figures.words["risk.chart.class"], figures["class"], figures);
      bars("chart-district", figures.words["risk.chart.district"], figures.district, figures);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      root.textContent = String(error);
      root.setAttribute("data-ready", "error");
    });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
}());
