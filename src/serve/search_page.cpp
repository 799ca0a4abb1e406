// The page of GET /: pick or drop an image, see it, its code and its nearest items. All
// of it is here (no CDN, no font, no script from elsewhere), so it works offline and
// behind the Content-Security-Policy the service sends with it.
#include "greedyhash/serve/search_service.h"

namespace greedyhash {

const char* search_page_html() {
  return R"page(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>greedyhash image search</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  #controls { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 1.2rem; width: 18rem;
          text-align: center; cursor: pointer; }
  #drop.over { border-color: #2a7; background: #efe; }
  #query { max-width: 12rem; max-height: 12rem; display: none; border: 1px solid #ccc; }
  #status { margin: 0.8rem 0; min-height: 1.2em; }
  #status[data-state="error"] { color: #b00; }
  code#code { font-size: 0.9rem; word-break: break-all; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr));
             gap: 0.8rem; margin-top: 1rem; }
  .hit { border: 1px solid #ddd; border-radius: 6px; padding: 0.4rem; font-size: 0.8rem; }
  .hit img { width: 100%; image-rendering: pixelated; background: #f4f4f4; }
  .hit .path { color: #666; word-break: break-all; display: block; }
  .hit .distance { font-weight: bold; }
</style>
</head>
<body>
<h1>greedyhash image search</h1>
<div id="controls">
  <div id="drop">Drop an image here, or<br>
    <input type="file" id="file" accept="image/jpeg,image/png"></div>
  <label>results <input type="number" id="k" min="1" max="1000" value="10"
    style="width: 4rem"></label>
  <img id="query" alt="query image">
</div>
<div id="status" data-state="idle">Choose a JPEG or PNG image.</div>
<div>code: <code id="code"></code></div>
<div id="results"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function showResults(answer) {
  $("code").textContent = answer.code;
  const results = $("results");
  results.replaceChildren();
  for (const r of answer.results) {
    const hit = document.createElement("div");
    hit.className = "hit";
    const img = document.createElement("img");
    img.src = "/items/" + r.id;
    img.alt = r.path;
    hit.append(img, span("rank", "#" + r.rank + " "), span("distance", String(r.distance)),
               document.createTextNode(" bits apart "), span("label", r.label || ""),
               span("path", r.path));
    results.append(hit);
  }
}

async function search(file) {
  if (!file) return;
  const preview = $("query");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.style.display = "block";
  $("code").textContent = "";
  $("results").replaceChildren();
  setStatus("busy", "Searching...");
  const k = Math.max(1, Math.min(1000, parseInt($("k").value, 10) || 10));
  try {
    const reply = await fetch("/search?k=" + k, { method: "POST", body: file });
    const answer = await reply.json();
    if (!reply.ok) throw new Error(answer.error || reply.statusText);
    showResults(answer);
    const t = answer.timing_ms;
    setStatus("done", answer.results.length + " nearest of the index (decode " +
              t.decode.toFixed(1) + " ms, encode " + t.encode.toFixed(1) + " ms, search " +
              t.search.toFixed(1) + " ms)");
  } catch (e) {
    setStatus("error", "Search failed: " + e.message);
  }
}

$("file").addEventListener("change", () => search($("file").files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  search(e.dataTransfer.files[0]);
});
</script>
</body>
</html>
)page";
}

}  // namespace greedyhash
