// promptrail UI: the only script. Pages work without it; it adds expand/collapse-all for
// the observations of a trace, and opens the observation a link (#obs-...) points to.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-toggle-all]");
  if (!button) return;
  const open = button.dataset.toggleAll === "open";
  document.querySelectorAll("details.obs").forEach((d) => { d.open = open; });
});

function openTarget() {
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
}
window.addEventListener("hashchange", openTarget);
document.addEventListener("DOMContentLoaded", openTarget);
