// The phone page: routines list, player with chapters and captions, the make form and its progress.
"use strict";

const $ = (id) => document.getElementById(id);
const audio = $("audio");
let cues = [];
let chapters = [];

function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function fileUrl(file) {
  return "/files/" + file.split("/").map(encodeURIComponent).join("/");
}

function parseVtt(text) {
  const stamp = (t) => {
    const [h, m, rest] = t.trim().split(":");
    return (Number(h) * 3600 + Number(m) * 60 + Number(rest)) * 1000;
  };
  const found = [];
  for (const block of text.replace(/\r/g, "").split("\n\n")) {
    const lines = block.split("\n");
    const at = lines.findIndex((line) => line.includes("-->"));
    if (at < 0) continue;
    const [start, end] = lines[at].split("-->");
    found.push({ start: stamp(start), end: stamp(end), text: lines.slice(at + 1).join(" ") });
  }
  return found;
}

function showCaption() {
  const now = audio.currentTime * 1000;
  const cue = cues.find((c) => c.start <= now && now < c.end);
  $("caption").textContent = cue ? cue.text : "";
  chapters.forEach((chapter, index) => {
    const next = chapters[index + 1];
    const current = chapter.start_ms <= now && (!next || now < next.start_ms);
    $("chapters").children[index].classList.toggle("current", current);
  });
}

async function play(routine) {
  $("player").hidden = false;
  $("now-title").textContent = routine.title;
  $("now-meta").textContent = describe(routine);
  audio.src = fileUrl(routine.file);
  $("download").href = fileUrl(routine.file) + "?download=1";
  chapters = routine.chapters;
  const list = $("chapters");
  list.replaceChildren();
  for (const chapter of chapters) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.innerHTML = `<span class="time">${clock(chapter.start_ms)}</span> `;
    button.append(chapter.title);
    button.addEventListener("click", () => {
      audio.currentTime = chapter.start_ms / 1000;
      audio.play();
    });
    item.append(button);
    list.append(item);
  }
  cues = [];
  $("caption").textContent = "";
  if (routine.captions) {
    const response = await fetch(fileUrl(routine.captions));
    if (response.ok) cues = parseVtt(await response.text());
  }
  $("player").scrollIntoView({ behavior: "smooth" });
}

function describe(routine) {
  const parts = [clock(routine.length_ms)];
  if (routine.mode) parts.push(routine.mode);
  if (routine.pressure) parts.push(`${routine.pressure} pressure`);
  if (routine.album) parts.push(routine.album);
  return parts.join(" · ");
}

async function loadRoutines(playFile) {
  const response = await fetch("/api/routines");
  const body = await response.json();
  $("folder").textContent = `Folder: ${body.folder}`;
  $("feed-url").value = body.feed;
  $("podcast-link").href = body.podcast;
  const list = $("routines");
  list.replaceChildren();
  if (!body.routines.length) {
    list.innerHTML = '<li class="muted">No routines yet: make one below.</li>';
  }
  for (const routine of body.routines) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.file = routine.file;
    button.append(routine.title);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = describe(routine);
    button.append(meta);
    button.addEventListener("click", () => play(routine));
    item.append(button);
    list.append(item);
    if (routine.file === playFile) play(routine);
  }
}

function showError(message) {
  const box = $("make-error");
  box.textContent = message ? `Error: ${message}` : "";
  box.hidden = !message;
}

async function follow(job) {
  $("job").hidden = false;
  for (;;) {
    const place = job.position ? ` (number ${job.position} in the queue)` : "";
    const stage = { speech: "speaking sentences", audio: "mixing and encoding" }[job.stage] || job.state;
    $("job-text").textContent = `${job.title}: ${stage}${place}`;
    $("job-progress").value = job.progress;
    if (job.state === "done") {
      $("job-text").textContent = `${job.title}: ready`;
      await loadRoutines(job.file);
      return;
    }
    if (job.state === "failed") {
      $("job").hidden = true;
      showError(job.error);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    const response = await fetch(`/api/jobs/${job.id}`);
    if (!response.ok) return;
    job = await response.json();
  }
}

$("make").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const fields = Object.fromEntries(new FormData(event.target).entries());
  const response = await fetch("/api/render", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fields),
  });
  const body = await response.json();
  if (!response.ok) {
    showError(body.error);
    return;
  }
  follow(body);
});

audio.addEventListener("timeupdate", showCaption);
audio.addEventListener("seeked", showCaption);
loadRoutines();
