// Draw each chart of the trends page: its Vega-Lite spec is in the page (JSON), the
// libraries are served by newsarchive (/-/newsarchive/vendor/), nothing is fetched elsewhere.
document.addEventListener("DOMContentLoaded", () => {
  for (const figure of document.querySelectorAll("figure.na-chart")) {
    const spec = JSON.parse(figure.querySelector("script.na-spec").textContent);
    const view = figure.querySelector(".na-chart-view");
    vegaEmbed(view, spec, {renderer: "svg", actions: false}).catch((error) => {
      view.textContent = "The chart could not be drawn: " + error;
    });
  }
});
