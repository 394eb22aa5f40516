// Live values without a reload: any element with data-poll="URL" is refreshed from that JSON every
// two seconds; {"fields": {key: value}} fills elements with data-live="key", and
// {"widths": {key: percent}} sets the width of elements with data-live-width="key".
(function () {
  const sources = new Set();
  document.querySelectorAll("[data-poll]").forEach((el) => sources.add(el.dataset.poll));
  // A box with data-reload-unless="key=value" reloads the page once the key's live value is another: a state
  // change that brings new parts of the page (how to pay, the tickets) shows them.
  function reloadIfChanged(fields) {
    document.querySelectorAll("[data-reload-unless]").forEach((el) => {
      const [key, value] = el.dataset.reloadUnless.split("=");
      if (fields[key] !== undefined && String(fields[key]) !== value) window.location.reload();
    });
  }
  function apply(data) {
    const fields = data.fields || {};
    reloadIfChanged(fields);
    document.querySelectorAll("[data-live]").forEach((el) => {
      const value = fields[el.dataset.live];
      if (value !== undefined && el.textContent !== String(value)) {
        el.textContent = value;
        el.className = el.className.replace(/state-\w+/g, "").trim() + " state-" + value;
      }
    });
    const widths = data.widths || {};
    document.querySelectorAll("[data-live-width]").forEach((el) => {
      const value = widths[el.dataset.liveWidth];
      if (value !== undefined) el.style.width = value + "%";
    });
  }
  function poll(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => data && apply(data))
      .catch(() => {})
      .finally(() => setTimeout(() => poll(url), 2000));
  }
  sources.forEach((url) => setTimeout(() => poll(url), 1000));
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
