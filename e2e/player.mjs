// Plays each case of a JSON file in Debian's Chromium through playwright-core and
// prints one JSON line per case: {name, ok, detail, seconds}. Never downloads a browser.
//   node player.mjs cases.json
// A case: {name, url, expect: "play" | "fatal" | "tracks" | "live" | "dash" | "dash-live" | "ui" | "ui-fail" | ..., timeout,
//          viewport: {width, height}, screenshot: path}
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "hlsproxy-e2e-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required"].concat(JSON.parse(process.env.CHROMIUM_ARGS || "[]")),
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const state = (page) => page.evaluate(() => window.__state);

// Polls until check(state) returns a verdict {ok, detail} or the deadline passes.
async function until(page, deadline, check) {
  let last = null;
  while (Date.now() < deadline) {
    last = await state(page);
    const verdict = check(last);
    if (verdict) return verdict;
    await sleep(200);
  }
  return { ok: false, detail: "timed out; last state " + JSON.stringify(last) };
}

const playing = (min) => (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
  : s.currentTime > min ? { ok: true, detail: `t=${s.currentTime.toFixed(1)}s` } : null);

async function runCase(c) {
  const page = await context.newPage();
  if (c.viewport) await page.setViewportSize(c.viewport);
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  const deadline = Date.now() + (c.timeout || 30) * 1000;
  try {
    if (c.hideNativeHls) {  // make the page take its hls.js path, as in a browser without native HLS
      await page.addInitScript(() => {
        const canPlayType = HTMLMediaElement.prototype.canPlayType;
        HTMLMediaElement.prototype.canPlayType = function (type) {
          return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
        };
      });
    }
    const response = await page.goto(c.page);
    try {
      return await check(page, c, response, deadline, consoleErrors);
    } finally {
      if (c.screenshot) await page.screenshot({ path: c.screenshot, fullPage: true });
    }
  } finally {
    await page.close();
  }
}

async function check(page, c, response, deadline, consoleErrors) {
  if (c.expect === "layout") {  // nothing wider than the screen; no field that should be hidden
    await page.fill("#url", c.url);
    const m = await page.evaluate(() => {
      const shown = (e) => Boolean(e && e.getClientRects().length > 0);
      const wide = [...document.querySelectorAll("input, button, code, label, video, p")]
        .filter((e) => shown(e) && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : ""));
      return { width: window.innerWidth, scroll: document.documentElement.scrollWidth, wide,
        referer: shown(document.getElementById("referer")), url: shown(document.getElementById("url")) };
    });
    const ok = m.url && m.scroll <= m.width && m.wide.length === 0 && m.referer === Boolean(c.refererShown);
    return { ok, detail: `viewport ${m.width}px, page ${m.scroll}px wide, wider than the screen: ${JSON.stringify(m.wide)}; Referer field ${m.referer ? "shown" : "not shown"}` };
  }
  if (c.expect === "ui-fail" || c.expect === "ui-status") {  // type a URL, press Play; what does the page say?
    await page.fill("#url", c.url);
    await page.click("#play");
    const read = () => page.evaluate(() => ({ status: document.getElementById("status").textContent,
      verdict: (document.getElementById("verdict") || {}).textContent || "",
      rows: document.querySelectorAll("#report tr").length, hlsjs: Boolean(window.player) }));
    let s = await read();
    const done = (s) => s.status && (c.expect === "ui-status" || s.verdict);
    while (Date.now() < deadline && !done(s)) { await sleep(200); s = await read(); }
    const ok = done(s) && (c.statusHas || []).every((t) => s.status.includes(t))
      && (c.verdictHas || []).every((t) => s.verdict.includes(t));
    return { ok, detail: `via ${s.hlsjs ? "hls.js" : "the browser's own HLS"}; status "${s.status}"; ${s.rows} table rows; ${s.verdict.slice(0, 160)}` };
  }
  if (c.expect === "ui") {  // the page at /: type the stream URL, press Play, as a person would
    await page.fill("#url", c.url);
    await page.click("#play");
    const read = () => page.evaluate(() => ({
      t: document.getElementById("video").currentTime, status: document.getElementById("status").textContent,
      proxied: document.getElementById("proxied").textContent, hlsjs: Boolean(window.player),
      dashjs: Boolean(window.dashjs) }));
    let s = await read();
    while (Date.now() < deadline && s.t <= 3 && !s.status) { await sleep(200); s = await read(); }
    const how = s.dashjs ? "dash.js (served locally)" : s.hlsjs ? "hls.js (served locally)" : "the browser's own HLS";
    const prefixed = !c.proxiedPrefix || s.proxied.startsWith(c.proxiedPrefix);
    const player = !c.player || how.startsWith(c.player);
    return { ok: s.t > 3 && !s.status && prefixed && player, detail: `t=${s.t.toFixed(1)}s via ${how}; ${s.status || "no error"}; proxied ${s.proxied.slice(0, 60)}...` };
  }
  if (c.expect === "shared" || c.expect === "shared-inert") {  // the page opened at /?url=…: nothing typed
    const read = () => page.evaluate(() => ({
      t: document.getElementById("video").currentTime, status: document.getElementById("status").textContent,
      url: document.getElementById("url").value, referer: (document.getElementById("referer") || {}).value,
      ran: document.documentElement.getAttribute("data-ran") === "1" }));
    let s = await read();
    const done = (s) => s.ran || (c.expect === "shared" ? s.t > 3 || s.status : Date.now() > deadline - 12000);
    while (Date.now() < deadline && !done(s)) { await sleep(200); s = await read(); }
    const filled = s.url === c.url;
    const ok = !s.ran && filled && (c.expect === "shared-inert" || (s.t > 3 && !s.status));
    return { ok, detail: `field ${filled ? "holds the address's url" : "holds " + JSON.stringify(s.url)}; referer ${JSON.stringify(s.referer).slice(0, 40)}; t=${s.t.toFixed(1)}s; ${s.status || "no error"}; ${s.ran ? "a script from the address RAN" : "nothing from the address ran"}` };
  }
  if (c.expect === "inert" || c.expect === "runs") {  // a document opened as is: did its script run?
    const ran = () => page.evaluate(() => document.documentElement.getAttribute("data-ran") === "1");
    let seen = await ran();
    for (let i = 0; i < 10 && !seen; i++) { await sleep(100); seen = await ran(); }
    const policy = response ? response.headers()["content-security-policy"] || "none" : "no response";
    return { ok: c.expect === "runs" ? seen : !seen,
      detail: `${seen ? "its script ran" : "its script did not run"}; Content-Security-Policy: ${policy}` };
  }
  if (c.expect === "fatal") {
    const v = await until(page, deadline, (s) => (s.fatal ? { ok: true, detail: s.fatal }
      : s.currentTime > 0.5 ? { ok: false, detail: "played, t=" + s.currentTime } : null));
    const cors = consoleErrors.some((t) => /CORS/.test(t));
    const mixed = consoleErrors.some((t) => /Mixed Content/.test(t));
    return { ...v, detail: v.detail + (cors ? " (console: blocked by CORS policy)" : "")
      + (mixed ? " (console: blocked as mixed content)" : "") };
  }
  if (c.expect === "tracks") {
    const first = await until(page, deadline, (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
      : s.currentTime > 1 && s.audioTracks.length >= 2 && s.subtitleTracks.length >= 1 ? { ok: true } : null));
    if (!first.ok) return first;
    const before = await state(page);
    await page.evaluate(() => { window.__hls.subtitleTrack = 0; window.__hls.audioTrack = 1; });
    const v = await until(page, deadline, (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
      : s.audioTrack === 1 && s.currentTime > before.currentTime + 2 ? { ok: true } : null));
    const s = await state(page);
    return { ...v, detail: `audio ${JSON.stringify(s.audioTracks)} -> #${s.audioTrack}, subtitles ${JSON.stringify(s.subtitleTracks)}, t ${before.currentTime.toFixed(1)} -> ${s.currentTime.toFixed(1)}s` + (v.ok ? "" : " " + v.detail) };
  }
  if (c.expect === "live") {
    const v = await until(page, deadline, (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
      : s.levelLoads >= 6 && s.currentTime > 6 ? { ok: true } : null));
    const s = await state(page);
    return { ...v, detail: `playlist loads ${s.levelLoads}, t=${s.currentTime.toFixed(1)}s` + (v.ok ? "" : " " + v.detail) };
  }
  if (c.expect === "dash") {  // dash.js or Shaka (dash.html): plays 3 s, after a seek if asked, with its text tracks
    const v = await until(page, deadline, (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
      : s.played > 3 && (!c.seek || (s.seeked && s.currentTime > c.seek + 1)) && s.texts >= (c.texts || 0)
        ? { ok: true } : null));
    const s = await state(page);
    return { ...v, detail: `${s.player}: played ${s.played.toFixed(1)}s, t=${s.currentTime.toFixed(1)}s`
      + (c.seek ? `, seeked to ${c.seek}s: ${s.seeked}` : "") + (c.texts ? `, ${s.texts} text track(s)` : "")
      + (s.errors.length ? `, errors ${JSON.stringify(s.errors.slice(0, 3))}` : "") + (v.ok ? "" : " " + v.detail) };
  }
  if (c.expect === "dash-live") {  // a live MPD: 6 s played near the live edge, the MPD loaded again and again
    const v = await until(page, deadline, (s) => (s.fatal ? { ok: false, detail: "fatal " + s.fatal }
      : s.played > 6 ? { ok: true } : null));
    const s = await state(page);
    return { ...v, detail: `${s.player}: played ${s.played.toFixed(1)}s, t=${s.currentTime.toFixed(1)}s`
      + (s.errors.length ? `, errors ${JSON.stringify(s.errors.slice(0, 3))}` : "") + (v.ok ? "" : " " + v.detail) };
  }
  return await until(page, deadline, playing(3));
}

try {
  for (const c of cases) {
    const started = Date.now();
    let result;
    try {
      result = await runCase(c);
    } catch (error) {
      result = { ok: false, detail: "driver error: " + error.message.split("\n")[0] };
    }
    console.log(JSON.stringify({ name: c.name, ...result, seconds: (Date.now() - started) / 1000 }));
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
