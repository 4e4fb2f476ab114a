// The schedule form: show only the chosen kind's field, and preview the cadence as the user types.
// The preview is computed on the server (POST /ui/schedules/preview, the same service as the API's
// preview), so the page never disagrees with what would be stored.
(() => {
  const form = document.getElementById("schedule-form");
  if (!form) return;
  const panel = document.getElementById("preview");
  const DELAY_MS = 300; // wait for a pause in typing, not one request per key
  let timer = null;
  let latest = 0;

  function showKind() {
    const kind = form.querySelector("input[name=schedule_type]:checked").value;
    form.querySelectorAll("[data-kind]").forEach((block) => { block.hidden = block.dataset.kind !== kind; });
  }

  function markInvalid(field) {
    form.querySelectorAll("[data-preview-invalid]").forEach((input) => {
      input.removeAttribute("data-preview-invalid");
      input.classList.remove("invalid");
    });
    const input = field && form.elements[field];
    if (input && input.classList) {
      input.classList.add("invalid");
      input.setAttribute("data-preview-invalid", "");
    }
  }

  async function refresh() {
    const ticket = ++latest;
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      });
      const html = await response.text();
      if (ticket !== latest) return; // a newer answer is on its way
      panel.innerHTML = html;
      const error = panel.querySelector("[data-error-field]");
      markInvalid(error ? error.dataset.errorField : "");
    } finally {
      if (ticket === latest) panel.removeAttribute("aria-busy");
    }
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", () => { showKind(); later(); });
  showKind();
  refresh();
})();
