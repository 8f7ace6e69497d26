// Dateline chat page. Every piece of article text goes into the page with textContent, never as HTML.
"use strict";

const form = document.getElementById("ask-form");
const questionBox = document.getElementById("question");
const conversation = document.getElementById("conversation");
const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("api-key");
let pendingRetry = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("dateline-api-key");
  if (key) h["X-API-Key"] = key;
  return h;
}

function formatDay(iso, precision) {
  const [y, m, d] = iso.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const month = date.toLocaleString("en-GB", { month: "long", timeZone: "UTC" });
  if (precision === "year") return String(y);
  if (precision === "month") return `${month} ${y}`;
  const day = `${d} ${month} ${y}`;
  return precision === "week" ? `week of ${day}` : day;
}

function requestBody(question) {
  const body = { question };
  for (const [id, field] of [["as-of", "as_of"], ["since", "since"], ["until", "until"]]) {
    const value = document.getElementById(id).value;
    if (value) body[field] = value;
  }
  return body;
}

// Reads a server-sent event stream from a POST response, calling onEvent(kind, data) for each event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      onEvent(kind, JSON.parse(data.join("\n") || "{}"));
    }
  }
}

function contextFor(citation, passages) {
  // The cited sentence inside the passage it was found in: text before, the quote, text after.
  const passage = passages.find((p) => p.article_id === citation.article_id && p.start <= citation.start && citation.end <= p.end);
  if (!passage) return ["", citation.quote, ""];
  const from = citation.start - passage.start;
  const to = citation.end - passage.start;
  let before = passage.text.slice(0, from);
  let after = passage.text.slice(to);
  // Enough context to read the quote in, not the whole passage: about 280 characters each side.
  if (before.length > 280) before = "…" + before.slice(before.indexOf(" ", before.length - 280) + 1);
  if (after.length > 280) after = after.slice(0, after.lastIndexOf(" ", 280)) + "…";
  return [before, passage.text.slice(from, to), after];
}

function highlighted(parts, className) {
  const block = el("p", className);
  block.append(document.createTextNode(parts[0]), el("mark", null, parts[1]), document.createTextNode(parts[2]));
  return block;
}

function citationCard(citation, passages, index) {
  const card = el("article", "card");
  card.setAttribute("aria-label", `Citation ${index + 1}`);
  card.append(el("h3", null, citation.title || citation.article_id));
  const bits = [citation.source || "unknown source", citation.published ? `published ${citation.published}` : "publication date unknown"];
  if (citation.event_date) bits.push(`states ${citation.event_date}`);
  card.append(el("p", "meta", bits.join(" · ")));
  card.append(highlighted(contextFor(citation, passages), "context"));
  if (citation.copies && citation.copies.length) {
    const names = citation.copies.map((c) => `${c.source || c.title || c.article_id}${c.published ? ` (${c.published})` : ""}`);
    card.append(el("p", "meta copies", `Also carried by: ${names.join("; ")}`));
  }
  const actions = el("div", "actions");
  const open = el("button", "link open-article", "Read in the article");
  open.type = "button";
  open.addEventListener("click", () => showArticle(card, citation, open));
  actions.append(open);
  if (citation.url && /^https?:\/\//i.test(citation.url)) {
    const link = el("a", "source-link", "Original article");
    link.href = citation.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    actions.append(link);
  }
  card.append(actions);
  return card;
}

async function showArticle(card, citation, button) {
  const existing = card.querySelector(".full-text");
  if (existing) { existing.remove(); button.textContent = "Read in the article"; return; }
  const response = await fetch(`/v1/articles/${encodeURIComponent(citation.article_id)}`, { headers: headers() });
  if (!response.ok) { card.append(el("p", "message", `Could not load the article (${response.status}).`)); return; }
  const article = await response.json();
  const text = article.text;
  const full = highlighted([text.slice(0, citation.start), text.slice(citation.start, citation.end), text.slice(citation.end)], "full-text");
  full.tabIndex = 0;
  card.append(full);
  button.textContent = "Hide the article";
  full.querySelector("mark").scrollIntoView({ block: "nearest" });
}

function renderAnswer(turn, answer, passages) {
  turn.querySelector(".status").textContent = answer.citations.length ? `${answer.citations.length} citation(s)` : "";
  if (answer.date) {
    const date = el("div", "event-date", formatDay(answer.date, answer.precision));
    date.setAttribute("data-date", answer.date);
    turn.append(date);
  }
  if (answer.answer && answer.answer !== (answer.date && formatDay(answer.date, answer.precision))) {
    turn.append(el("p", "answer-text", answer.answer));
  }
  if (answer.message) turn.append(el("p", "message", answer.message));
  if (answer.answer) turn.append(el("p", "status", `confidence ${answer.confidence}`));
  const list = el("div", "citations");
  answer.citations.forEach((c, i) => list.append(citationCard(c, passages, i)));
  turn.append(list);
}

async function ask(question) {
  const turn = el("section", "turn");
  turn.append(el("p", "question", question), el("p", "status", "Searching the archive…"));
  conversation.append(turn);
  turn.scrollIntoView({ block: "end" });
  const passages = [];
  const response = await fetch("/v1/ask/stream", { method: "POST", headers: headers(), body: JSON.stringify(requestBody(question)) });
  if (response.status === 401) {
    turn.querySelector(".status").textContent = "This server needs an API key.";
    keyForm.hidden = false;
    keyInput.focus();
    pendingRetry = () => { turn.remove(); return ask(question); };
    return;
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    turn.querySelector(".status").textContent = `Error ${response.status}: ${typeof problem.detail === "string" ? problem.detail : "bad request"}`;
    return;
  }
  await readEvents(response, (kind, data) => {
    if (kind === "passage") {
      passages.push(data);
      turn.querySelector(".status").textContent = `Reading ${passages.length} passage(s)…`;
    } else if (kind === "answer") {
      renderAnswer(turn, data, passages);
    } else if (kind === "error") {
      turn.querySelector(".status").textContent = `Error: ${data.detail}`;
    }
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = questionBox.value.trim();
  if (!question) return;
  const button = document.getElementById("ask-button");
  button.disabled = true;
  questionBox.value = "";
  try { await ask(question); } finally { button.disabled = false; questionBox.focus(); }
});

questionBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("dateline-api-key", keyInput.value);
  keyForm.hidden = true;
  if (pendingRetry) { const retry = pendingRetry; pendingRetry = null; retry(); }
});

questionBox.focus();
