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

// The time window's days the form holds, by the API's field names ({} when none are set).
function windowFields() {
  const fields = {};
  for (const [id, field] of [["as-of", "as_of"], ["since", "since"], ["until", "until"]]) {
    const value = document.getElementById(id).value;
    if (value) fields[field] = value;
  }
  return fields;
}

function requestBody(question) {
  const body = { question, ...windowFields() };
  if (document.getElementById("use-llm").checked) body.reader = "llm";
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

function timeEl(iso, text) {
  const node = el("time", null, text);
  node.dateTime = iso;
  return node;
}

// Two different dates, shown differently: the day the text states (what the answer is about) as a
// badge, and the day the article was published as plain metadata.
function citationDates(citation) {
  const meta = el("p", "meta");
  meta.append(el("span", "source-name", citation.source || "unknown source"), document.createTextNode(" · "));
  const published = el("span", "published-date");
  if (citation.published) {
    const day = citation.published.slice(0, 10);
    published.append(document.createTextNode("Published "), timeEl(day, formatDay(day, "day")));
  } else {
    published.textContent = "Publication date unknown";
  }
  meta.append(published);
  if (!citation.event_date) return [meta];
  const stated = el("p", "stated-date");
  stated.append(el("span", "stated-label", "Date in the text"), timeEl(citation.event_date, formatDay(citation.event_date, "day")));
  return [stated, meta];
}

function citationCard(citation, passages, index) {
  const card = el("article", "card");
  card.setAttribute("aria-label", `Citation ${index + 1}`);
  card.append(el("h3", null, citation.title || citation.article_id));
  card.append(...citationDates(citation));
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
  const context = card.querySelector(".context");
  const existing = card.querySelector(".full-text");
  if (existing) {
    existing.remove();
    context.hidden = false;
    button.textContent = "Read in the article";
    return;
  }
  const response = await fetch(`/v1/articles/${encodeURIComponent(citation.article_id)}`, { headers: headers() });
  if (!response.ok) { card.append(el("p", "message", `Could not load the article (${response.status}).`)); return; }
  const article = await response.json();
  const text = article.text;
  const full = highlighted([text.slice(0, citation.start), text.slice(citation.start, citation.end), text.slice(citation.end)], "full-text");
  full.tabIndex = 0;
  // The article, with the quote marked, takes the place of the passage: nothing is shown twice.
  context.hidden = true;
  context.after(full);
  button.textContent = "Hide the article";
  full.querySelector("mark").scrollIntoView({ block: "nearest" });
}

// The answer's confidence (0.3 to 1, from how well its sentence matches the question) in words.
function confidenceWords(value) {
  if (value >= 0.75) return "Strong match in the sources";
  if (value >= 0.5) return "Fair match in the sources";
  return "Weak match: check the sources";
}

function timelineQuery(question) {
  return new URLSearchParams({ q: question, ...windowFields() });
}

// Fetches GET /v1/timeline for the question and draws it at `anchor` (before it, or into it).
async function showTimeline(turn, question, anchor, answerDay) {
  const params = timelineQuery(question);
  const response = await fetch(`/v1/timeline?${params}`, { headers: headers() });
  if (!response.ok) {
    const note = el("p", "message", `Could not draw the time line (${response.status}).`);
    anchor ? turn.insertBefore(note, anchor) : turn.append(note);
    return null;
  }
  const timeline = await response.json();
  const holder = el("div", "timeline-holder");
  anchor ? turn.insertBefore(holder, anchor) : turn.append(holder);
  return window.DatelineTimeline.drawTimeline(holder, timeline, {
    answerDay,
    asOf: timeline.as_of,
    formatDay,
    showCitations: (event, panel) => {
      const list = el("div", "citations");
      event.citations.forEach((c, i) => list.append(citationCard(c, [], i)));
      panel.append(list);
    },
  });
}

async function renderAnswer(turn, answer, passages, question) {
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
  if (answer.embedded_share !== undefined && answer.embedded_share < 1) {
    const share = Math.floor(answer.embedded_share * 100);
    turn.append(el("p", "status embedding",
      `Vectors are still being computed: ${share}% of the archive is searched by meaning, all of it by words.`));
  }
  if (answer.answer) {
    const confidence = el("p", "status confidence", confidenceWords(answer.confidence));
    confidence.title = `confidence ${answer.confidence} on a scale from 0 to 1`;
    turn.append(confidence);
  }
  const list = el("div", "citations");
  answer.citations.forEach((c, i) => list.append(citationCard(c, passages, i)));
  turn.append(list);
  // A dated answer is one event among others: show them on a time line above the citations.
  if (answer.date) await showTimeline(turn, question, list, answer.date);
}

async function drawTimelineTurn(question) {
  const turn = el("section", "turn timeline-turn");
  turn.append(el("p", "question", question), el("p", "status", "Finding dated events…"));
  conversation.append(turn);
  const drawn = await showTimeline(turn, question, null, null);
  turn.querySelector(".status").textContent = drawn ? "Choose an event on the time line to see its sources." : "";
  turn.scrollIntoView({ block: "end" });
}

function mode() {
  const chosen = document.querySelector('input[name="mode"]:checked');
  return chosen ? chosen.value : "ask";
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
  let answered = null;
  await readEvents(response, (kind, data) => {
    if (kind === "passage") {
      passages.push(data);
      turn.querySelector(".status").textContent = `Reading ${passages.length} passage(s)…`;
    } else if (kind === "token") {
      // The LLM's reply as it comes, unverified: replaced by the checked answer when it arrives.
      let draft = turn.querySelector(".llm-draft");
      if (!draft) {
        draft = el("p", "llm-draft");
        draft.setAttribute("aria-label", "LLM draft, not yet checked");
        turn.append(draft);
        turn.querySelector(".status").textContent = "The LLM is writing; its quotes are checked when it is done…";
      }
      draft.textContent += data.text;
    } else if (kind === "answer") {
      const draft = turn.querySelector(".llm-draft");
      if (draft) draft.remove();
      answered = renderAnswer(turn, data, passages, question);
    } else if (kind === "error") {
      turn.querySelector(".status").textContent = `Error: ${data.detail}`;
    }
  });
  if (answered) await answered;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = questionBox.value.trim();
  if (!question) return;
  const button = document.getElementById("ask-button");
  button.disabled = true;
  questionBox.value = "";
  try {
    if (mode() === "timeline") await drawTimelineTurn(question);
    else await ask(question);
  } catch (error) {
    conversation.append(el("p", "message", `Something went wrong: ${error.message}`));
  } finally {
    button.disabled = false;
    questionBox.focus();
  }
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

// The LLM reader is offered only when the server has one configured.
fetch("/healthz").then((r) => (r.ok ? r.json() : {})).then((health) => {
  if (health.llm) document.getElementById("reader-switch").hidden = false;
}).catch(() => {});

questionBox.focus();
