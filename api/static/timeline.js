// Dateline's time line: the events of GET /v1/timeline drawn as marks on a time axis, in inline SVG.
// One mark per event day, its size by the number of distinct sources; the answer's day highlighted;
// the as-of day drawn as a line. Hover or focus shows a mark's day and quote; click, Enter or Space
// chooses it and shows its citations. Zoom by dragging across the axis or, on a mark, with + and -;
// 0 or Escape shows everything again; arrow keys, Home and End move between marks.
// Text from articles only ever goes in with textContent.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
const HEIGHT = 132;
const AXIS_Y = 96;
const MARK_Y = 56;
const PAD = 24;

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

function dayNumber(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

function markRadius(sources) {
  return Math.min(6 + 3 * Math.sqrt(Math.max(sources, 1) - 1), 16);
}

// Tick days between two day numbers: the smallest step (days, weeks, months, years) that leaves at
// most `most` ticks, aligned to the calendar.
function ticks(from, to, most) {
  const steps = [[1, "day"], [7, "day"], [1, "month"], [3, "month"], [6, "month"], [1, "year"], [2, "year"], [5, "year"], [10, "year"], [25, "year"], [50, "year"]];
  const spanDays = to - from;
  for (const [n, unit] of steps) {
    const approx = unit === "day" ? n : unit === "month" ? 30.44 * n : 365.25 * n;
    if (spanDays / approx > most) continue;
    const out = [];
    const start = new Date(from * DAY_MS);
    let y = start.getUTCFullYear();
    let m = start.getUTCMonth();
    if (unit === "day") {
      for (let d = Math.ceil(from / n) * n; d <= to; d += n) out.push({ day: d, unit });
    } else if (unit === "month") {
      m = Math.ceil(m / n) * n;
      for (;;) {
        const d = Date.UTC(y + Math.floor(m / 12), m % 12, 1) / DAY_MS;
        if (d > to) break;
        if (d >= from) out.push({ day: d, unit });
        m += n;
      }
    } else {
      y = Math.ceil(y / n) * n;
      for (; Date.UTC(y, 0, 1) / DAY_MS <= to; y += n) {
        const d = Date.UTC(y, 0, 1) / DAY_MS;
        if (d >= from) out.push({ day: d, unit });
      }
    }
    return out;
  }
  return [];
}

function tickLabel(tick) {
  const date = new Date(tick.day * DAY_MS);
  if (tick.unit === "year") return String(date.getUTCFullYear());
  const month = date.toLocaleString("en-GB", { month: "short", timeZone: "UTC" });
  if (tick.unit === "month") return date.getUTCMonth() === 0 ? `${month} ${date.getUTCFullYear()}` : month;
  return `${date.getUTCDate()} ${month}`;
}

// The whole span to show: every event, the answer's day and the as-of day, with a margin.
function fullDomain(days) {
  let from = Math.min(...days);
  let to = Math.max(...days);
  const pad = Math.max((to - from) * 0.06, 20);
  return [from - pad, to + pad];
}

/**
 * Draws `timeline` (a /v1/timeline response) into `container`.
 * options: answerDay (ISO day to highlight), asOf (ISO day drawn as a line), formatDay(iso, precision),
 * showCitations(event, panel) fills the panel with an event's citations.
 */
function drawTimeline(container, timeline, options) {
  const events = timeline.events;
  const figure = document.createElement("figure");
  figure.className = "timeline";
  const caption = document.createElement("figcaption");
  const tooltip = document.createElement("div");
  tooltip.className = "timeline-tip";
  tooltip.setAttribute("role", "tooltip");
  tooltip.id = `tip-${Math.random().toString(36).slice(2)}`;
  tooltip.hidden = true;
  const tools = document.createElement("div");
  tools.className = "timeline-tools";
  const reset = document.createElement("button");
  reset.type = "button";
  reset.className = "link timeline-reset";
  reset.textContent = "Show all";
  reset.hidden = true;
  const help = document.createElement("span");
  help.className = "hint";
  help.textContent = "Drag across the axis to zoom; on a mark: ← → to move, + − to zoom, 0 to show all, Enter for its sources.";
  tools.append(reset, help);
  const plot = document.createElement("div");
  plot.className = "timeline-plot";
  const panel = document.createElement("div");
  panel.className = "timeline-citations";
  panel.setAttribute("aria-live", "polite");
  figure.append(caption, plot, tools, panel);
  plot.append(tooltip);
  container.append(figure);

  const answerDay = options.answerDay || null;
  const asOf = options.asOf || null;
  const eventDays = events.map((e) => dayNumber(e.date));
  const extra = [answerDay, asOf].filter(Boolean).map(dayNumber);
  const full = fullDomain(eventDays.concat(extra).length ? eventDays.concat(extra) : [Date.now() / DAY_MS]);
  let domain = full.slice();
  let chosen = null;
  let focusedIndex = null;

  const span = events.length > 1 ? `, ${options.formatDay(events[0].date, events[0].precision)} to ${options.formatDay(events[events.length - 1].date, events[events.length - 1].precision)}` : "";
  caption.textContent = events.length
    ? `Time line: ${events.length} dated event${events.length === 1 ? "" : "s"}${span}. A larger mark has more sources.`
    : "No dated events found for this question.";

  const svg = svgEl("svg", { class: "timeline-svg", height: HEIGHT, role: "group", "aria-label": `Time line of ${events.length} events` });
  plot.prepend(svg);

  function width() {
    return Math.max(plot.clientWidth, 200);
  }

  function x(day, w) {
    return PAD + ((day - domain[0]) / (domain[1] - domain[0])) * (w - 2 * PAD);
  }

  function dayAt(px, w) {
    return domain[0] + ((px - PAD) / (w - 2 * PAD)) * (domain[1] - domain[0]);
  }

  function showTip(index, mark) {
    const event = events[index];
    tooltip.replaceChildren();
    const head = document.createElement("strong");
    head.textContent = `${options.formatDay(event.date, event.precision)} · ${event.sources} source${event.sources === 1 ? "" : "s"}`;
    const quote = document.createElement("span");
    quote.textContent = event.quote;
    tooltip.append(head, quote);
    tooltip.hidden = false;
    const box = mark.getBoundingClientRect();
    const host = plot.getBoundingClientRect();
    const left = Math.min(Math.max(box.left - host.left + box.width / 2 - 140, 0), Math.max(host.width - 280, 0));
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${AXIS_Y + 8}px`;
    mark.setAttribute("aria-describedby", tooltip.id);
  }

  function hideTip() {
    tooltip.hidden = true;
  }

  function choose(index) {
    chosen = index;
    for (const mark of svg.querySelectorAll(".mark")) mark.setAttribute("aria-pressed", String(Number(mark.dataset.index) === index));
    panel.replaceChildren();
    const event = events[index];
    const head = document.createElement("p");
    head.className = "timeline-chosen";
    head.textContent = `${options.formatDay(event.date, event.precision)}: ${event.citations.length} citation${event.citations.length === 1 ? "" : "s"}`;
    panel.append(head);
    options.showCitations(event, panel);
  }

  function visible() {
    return events.map((e, i) => i).filter((i) => eventDays[i] >= domain[0] && eventDays[i] <= domain[1]);
  }

  function render(focus) {
    const w = width();
    svg.setAttribute("width", w);
    svg.setAttribute("viewBox", `0 0 ${w} ${HEIGHT}`);
    svg.replaceChildren();
    svg.append(svgEl("line", { class: "axis", x1: PAD, x2: w - PAD, y1: AXIS_Y, y2: AXIS_Y }));
    for (const tick of ticks(domain[0], domain[1], Math.floor((w - 2 * PAD) / 70))) {
      const tx = x(tick.day, w);
      svg.append(svgEl("line", { class: "tick", x1: tx, x2: tx, y1: AXIS_Y, y2: AXIS_Y + 5 }));
      const label = svgEl("text", { class: "tick-label", x: tx, y: AXIS_Y + 20, "text-anchor": "middle" });
      label.textContent = tickLabel(tick);
      svg.append(label);
    }
    if (asOf) {
      const day = dayNumber(asOf);
      if (day >= domain[0] && day <= domain[1]) {
        const ax = x(day, w);
        svg.append(svgEl("line", { class: "as-of", x1: ax, x2: ax, y1: 10, y2: AXIS_Y, "data-date": asOf }));
        const label = svgEl("text", { class: "as-of-label", x: ax + 4, y: 18 });
        label.textContent = `as of ${options.formatDay(asOf, "day")}`;
        svg.append(label);
      }
    }
    for (const i of visible()) {
      const event = events[i];
      const mx = x(eventDays[i], w);
      const classes = ["mark", event.precision === "day" ? "precise" : "coarse"];
      if (answerDay && event.date === answerDay) classes.push("answer");
      svg.append(svgEl("line", { class: "stem", x1: mx, x2: mx, y1: MARK_Y, y2: AXIS_Y }));
      const mark = svgEl("circle", {
        class: classes.join(" "),
        cx: mx,
        cy: MARK_Y,
        r: markRadius(event.sources),
        tabindex: 0,
        role: "button",
        "data-date": event.date,
        "data-index": i,
        "data-sources": event.sources,
        "aria-pressed": String(chosen === i),
      });
      const precise = event.precision === "day" ? "" : ` (${event.precision})`;
      const answer = answerDay && event.date === answerDay ? ", the answer" : "";
      mark.setAttribute("aria-label", `${options.formatDay(event.date, event.precision)}${precise}${answer}: ${event.sources} source${event.sources === 1 ? "" : "s"}`);
      mark.addEventListener("mouseenter", () => showTip(i, mark));
      mark.addEventListener("mouseleave", () => { if (document.activeElement !== mark) hideTip(); });
      mark.addEventListener("focus", () => { focusedIndex = i; showTip(i, mark); });
      mark.addEventListener("blur", hideTip);
      mark.addEventListener("click", () => { choose(i); mark.focus(); });
      mark.addEventListener("keydown", (event) => onKey(event, i));
      svg.append(mark);
    }
    reset.hidden = domain[0] === full[0] && domain[1] === full[1];
    if (focus !== undefined && focus !== null) {
      const mark = svg.querySelector(`.mark[data-index="${focus}"]`);
      if (mark) mark.focus();
    }
  }

  function zoomTo(from, to, focus) {
    const min = 6;  // days: closer than this, the axis would show nothing new
    if (to - from < min) {
      const mid = (from + to) / 2;
      from = mid - min / 2;
      to = mid + min / 2;
    }
    domain = [Math.max(from, full[0] - (full[1] - full[0])), Math.min(to, full[1] + (full[1] - full[0]))];
    render(focus);
  }

  function onKey(event, i) {
    const shown = visible();
    const at = shown.indexOf(i);
    let target = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") target = shown[Math.min(at + 1, shown.length - 1)];
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") target = shown[Math.max(at - 1, 0)];
    else if (event.key === "Home") target = shown[0];
    else if (event.key === "End") target = shown[shown.length - 1];
    else if (event.key === "Enter" || event.key === " ") { choose(i); event.preventDefault(); return; }
    else if (event.key === "+" || event.key === "=") {
      const half = (domain[1] - domain[0]) / 4;
      zoomTo(eventDays[i] - half, eventDays[i] + half, i);
      event.preventDefault();
      return;
    } else if (event.key === "-" || event.key === "_") {
      const half = domain[1] - domain[0];
      zoomTo(Math.max(eventDays[i] - half, full[0]), Math.min(eventDays[i] + half, full[1]), i);
      event.preventDefault();
      return;
    } else if (event.key === "0" || event.key === "Escape") {
      domain = full.slice();
      render(i);
      event.preventDefault();
      return;
    } else return;
    event.preventDefault();
    if (target !== null && target !== undefined) svg.querySelector(`.mark[data-index="${target}"]`).focus();
  }

  // Dragging across the axis (not on a mark) selects a range to zoom to.
  let dragFrom = null;
  let brush = null;
  svg.addEventListener("pointerdown", (event) => {
    if (event.target.classList && event.target.classList.contains("mark")) return;
    const box = svg.getBoundingClientRect();
    dragFrom = event.clientX - box.left;
    brush = svgEl("rect", { class: "brush", x: dragFrom, y: 4, width: 0, height: AXIS_Y - 4 });
    svg.append(brush);
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (dragFrom === null) return;
    const px = event.clientX - svg.getBoundingClientRect().left;
    brush.setAttribute("x", Math.min(px, dragFrom));
    brush.setAttribute("width", Math.abs(px - dragFrom));
  });
  svg.addEventListener("pointerup", (event) => {
    if (dragFrom === null) return;
    const px = event.clientX - svg.getBoundingClientRect().left;
    const w = width();
    const from = dragFrom;
    dragFrom = null;
    if (brush) brush.remove();
    brush = null;
    if (Math.abs(px - from) < 8) return;  // a click, not a drag
    zoomTo(dayAt(Math.min(px, from), w), dayAt(Math.max(px, from), w), focusedIndex);
  });

  reset.addEventListener("click", () => { domain = full.slice(); render(); });
  if (typeof ResizeObserver === "function") {
    let lastWidth = 0;
    new ResizeObserver(() => { const w = width(); if (w !== lastWidth) { lastWidth = w; render(); } }).observe(plot);
  }
  render();
  return { figure, choose };
}

window.DatelineTimeline = { drawTimeline };
