// The console works without this script; it adds search as you type, copy, file loading,
// confirmations and the "/" shortcut.
"use strict";

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function liveSearch(form) {
  const results = document.getElementById("results");
  let latest = 0;
  const run = async () => {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) { if (!value || (key === "sort" && value === "name")) params.delete(key); }
    const query = params.toString();
    const url = form.action + (query ? "?" + query : "");
    const ticket = ++latest;
    const response = await fetch(url, { headers: { "X-Console-Fragment": "1" }, credentials: "same-origin" });
    if (!response.ok || ticket !== latest) return;
    results.innerHTML = await response.text();  // server-rendered, escaped HTML
    history.replaceState(null, "", url);
  };
  const later = debounce(run, 200);
  form.addEventListener("input", later);
  form.addEventListener("change", later);
}

function copyButtons() {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.value);
      } catch (error) {
        source.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
}

function fileLoading() {
  const input = document.getElementById("schema-file");
  const target = document.getElementById("schema");
  if (!input || !target) return;
  input.closest("label").hidden = false;
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    target.value = await file.text();
    const type = document.querySelector("select[name=schemaType]");
    const name = file.name.toLowerCase();
    const match = type && [...type.options].find(
      (option) => (option.dataset.extensions || "").split(" ").some((ending) => ending && name.endsWith(ending)));
    if (match) type.value = match.value;
  });
}

function confirmations() {
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.form.addEventListener("submit", (event) => {
      if (event.submitter === button && !window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
}

function shortcuts() {
  const search = document.getElementById("q");
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (event.key === "/" && search && !typing) { event.preventDefault(); search.focus(); search.select(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("subject-search");
  if (form) liveSearch(form);
  copyButtons();
  fileLoading();
  confirmations();
  shortcuts();
});
