// Draws the reports page's charts from the data the server put beside each canvas.
(function () {
  "use strict";
  const colours = ["#2457d6", "#a15c00", "#1e7a3c", "#b3261e"];
  document.addEventListener("DOMContentLoaded", () => {
    if (!window.Chart) return;
    for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
      const data = JSON.parse(canvas.dataset.series);
      new window.Chart(canvas, {
        type: canvas.dataset.chart,
        data: {
          labels: data.labels,
          datasets: data.sets.map(([label, values], i) => ({
            label, data: values, borderColor: colours[i % colours.length],
            backgroundColor: colours[i % colours.length], tension: 0.2, pointRadius: 2,
          })),
        },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
  });
})();
