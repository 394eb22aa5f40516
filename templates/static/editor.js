// The blog editor: a Markdown toolbar with keyboard shortcuts, a live preview rendered (and sanitized) by
// the server, image upload with alt text, and autosave of drafts. No network beyond this site.
(function () {
  const form = document.getElementById("editor");
  if (!form) return;
  const text = form.querySelector("textarea[name=body]");
  const preview = document.getElementById("preview");
  const state = document.getElementById("autosave-state");
  const csrf = form.querySelector("input[name=csrf]").value;
  form.querySelector("input[name=tz_offset]").value = String(new Date().getTimezoneOffset());
  const localKey = "rose-ash-editor:" + location.pathname;
  // the buttons are named "action", which hides the form's action property: use the attribute
  const target = () => form.getAttribute("action");

  function post(url, fields) {
    const body = new FormData();
    body.append("csrf", csrf);
    Object.entries(fields).forEach(([k, v]) => body.append(k, v));
    return fetch(url, { method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json().then((data) => ({ ok: r.ok, data })));
  }

  // --- formatting
  function surround(before, after, placeholder) {
    const { selectionStart: s, selectionEnd: e, value } = text;
    const chosen = value.slice(s, e) || placeholder;
    text.setRangeText(before + chosen + after, s, e, "end");
    text.setSelectionRange(s + before.length, s + before.length + chosen.length);
    changed();
  }
  function prefixLines(prefix) {
    const { selectionStart: s, selectionEnd: e, value } = text;
    const start = value.lastIndexOf("\n", s - 1) + 1;
    const lines = value.slice(start, e).split("\n");
    const done = lines.map((line, i) => (typeof prefix === "function" ? prefix(i) : prefix) + line).join("\n");
    text.setRangeText(done, start, e, "end");
    changed();
  }
  const actions = {
    h2: () => prefixLines("## "),
    h3: () => prefixLines("### "),
    bold: () => surround("**", "**", "bold text"),
    italic: () => surround("_", "_", "italic text"),
    link: () => {
      const url = window.prompt("Link to (https://…)", "https://");
      if (url) surround("[", "](" + url + ")", "link text");
    },
    ul: () => prefixLines("- "),
    ol: () => prefixLines((i) => i + 1 + ". "),
    quote: () => prefixLines("> "),
    code: () => (text.value.slice(text.selectionStart, text.selectionEnd).includes("\n")
      ? surround("```\n", "\n```", "code")
      : surround("`", "`", "code")),
  };
  form.querySelectorAll("[data-md]").forEach((button) =>
    button.addEventListener("click", () => { text.focus(); actions[button.dataset.md](); }));
  text.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    const key = { b: "bold", i: "italic", k: "link", e: "code" }[event.key.toLowerCase()];
    if (key) { event.preventDefault(); actions[key](); }
    if (event.key.toLowerCase() === "s") { event.preventDefault(); save(); }
  });

  // --- live preview
  let previewTimer = null;
  function renderPreview() {
    post(form.dataset.preview, { body: text.value }).then(({ ok, data }) => {
      if (ok) preview.innerHTML = data.html; // sanitized by the server (nh3); the page's CSP runs no inline script
    }).catch(() => {});
  }

  // --- autosave
  let saveTimer = null;
  let dirty = false;
  function fields() {
    const get = (name) => (form.querySelector(`[name=${name}]`) || { value: "" }).value;
    return { post: form.dataset.post, title: get("title"), body: text.value, tags: get("tags") };
  }
  function save() {
    if (!dirty || !form.dataset.autosave) return; // a page has no draft: it is saved with its button
    const now = fields();
    if (!now.title.trim()) { state.textContent = "Autosave waits for a title."; return; }
    dirty = false;
    state.textContent = "Saving…";
    const published = form.dataset.post === "" && target().endsWith("/edit");
    if (published) {
      localStorage.setItem(localKey, JSON.stringify(now));
      state.textContent = "Kept in this browser until you save.";
      return;
    }
    post(form.dataset.autosave, now).then(({ ok, data }) => {
      if (ok && data.saved) {
        if (!form.dataset.post) {
          form.dataset.post = data.post;
          form.setAttribute("action", data.edit);
          history.replaceState(null, "", data.edit);
        }
        state.textContent = "Draft saved " + new Date().toLocaleTimeString();
      } else {
        state.textContent = data.reason || "Not saved.";
        if (!ok) dirty = true;
      }
    }).catch(() => { dirty = true; state.textContent = "Not saved (offline?); trying again."; });
  }
  function changed() {
    dirty = true;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreview, 250);
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 2000);
  }
  form.addEventListener("input", changed);
  form.addEventListener("submit", () => { clearTimeout(saveTimer); dirty = false; localStorage.removeItem(localKey); });
  const kept = localStorage.getItem(localKey);
  if (kept && target().endsWith("/edit") && form.dataset.post === "") {
    const restored = JSON.parse(kept);
    if (restored.body !== text.value) {
      text.value = restored.body;
      state.textContent = "Restored your unsaved changes from this browser.";
    }
  }

  // --- images
  const file = form.querySelector("input[name=image]");
  const alt = form.querySelector("input[name=image_alt]");
  const uploadState = document.getElementById("upload-state");
  document.getElementById("insert-image").addEventListener("click", () => {
    if (!file.files.length) { uploadState.textContent = "Choose an image first."; return; }
    if (!alt.value.trim()) { uploadState.textContent = "Describe the image first (alt text)."; alt.focus(); return; }
    uploadState.textContent = "Uploading…";
    post(form.dataset.upload, { file: file.files[0], alt: alt.value }).then(({ ok, data }) => {
      if (!ok) { uploadState.textContent = data.error || "The upload failed."; return; }
      text.focus();
      const at = text.selectionEnd;
      const line = "\n\n![" + alt.value.replace(/[\[\]]/g, "") + "](" + data.url + ")\n\n";
      text.setRangeText(line, at, at, "end");
      uploadState.textContent = "Inserted (" + data.width + " × " + data.height + ").";
      file.value = "";
      alt.value = "";
      changed();
    }).catch(() => { uploadState.textContent = "The upload failed (offline?)."; });
  });

  renderPreview();
})();
