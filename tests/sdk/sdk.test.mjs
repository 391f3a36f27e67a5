// Drives our `codex` binary through the official TypeScript SDK (@openai/codex-sdk),
// against the scripted `mock-responses` server. Run with `node --test` in this folder
// after `cargo build` (scripts/test does both).
//
// Environment:
//   CODEX_BIN           our binary       (default ../../target/debug/codex)
//   MOCK_RESPONSES_BIN  the mock server  (default ../../target/debug/mock-responses)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

import { Codex } from "@openai/codex-sdk";

const here = path.dirname(fileURLToPath(import.meta.url));
const CODEX_BIN = path.resolve(here, process.env.CODEX_BIN ?? "../../target/debug/codex");
const MOCK_BIN = path.resolve(
  here,
  process.env.MOCK_RESPONSES_BIN ?? "../../target/debug/mock-responses",
);
const TIMEOUT = { timeout: 60_000 };
const HIGH_DEMAND = "We’re currently experiencing high demand, which may cause temporary errors.";

before(() => {
  for (const bin of [CODEX_BIN, MOCK_BIN]) {
    assert.ok(existsSync(bin), `${bin} is missing: run \`cargo build --workspace\` first`);
  }
});

// ---------------------------------------------------------------------------------------
// Scripted replies (the JSON form documented in crates/mock-responses/src/lib.rs).

function usageCompleted(id, input, cached, output, reasoning) {
  return {
    type: "response.completed",
    response: {
      id,
      usage: {
        input_tokens: input,
        input_tokens_details: { cached_tokens: cached },
        output_tokens: output,
        output_tokens_details: { reasoning_tokens: reasoning },
        total_tokens: input + output,
      },
    },
  };
}

function messageDone(id, text) {
  return {
    type: "response.output_item.done",
    item: { type: "message", role: "assistant", id, content: [{ type: "output_text", text }] },
  };
}

function reasoningDone(id, summaries) {
  return {
    type: "response.output_item.done",
    item: {
      type: "reasoning",
      id,
      summary: summaries.map((text) => ({ type: "summary_text", text })),
      encrypted_content: `enc-${id}`,
    },
  };
}

/** One SSE reply: created, the given output events, completed with usage. */
function turnReply(events, usage = [10, 0, 5, 0]) {
  return {
    sse: [
      { type: "response.created", response: { id: "resp_1" } },
      ...events,
      usageCompleted("resp_1", ...usage),
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Fixtures.

const tempDirs = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), `codex-sdk-test-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

function gitRepo() {
  const dir = tempDir("repo");
  execFileSync("git", ["init", "-q", dir]);
  return dir;
}

/**
 * Starts the mock binary with a script (and optional fallback reply) and a request log.
 * When the test ends its stdin is closed, which makes it exit.
 */
async function startMock(t, replies, fallback) {
  const dir = tempDir("mock");
  const script = path.join(dir, "script.json");
  const log = path.join(dir, "requests.jsonl");
  writeFileSync(script, JSON.stringify(replies));
  const args = ["--script", script, "--log", log];
  if (fallback) {
    const file = path.join(dir, "fallback.json");
    writeFileSync(file, JSON.stringify(fallback));
    args.push("--fallback", file);
  }
  const child = spawn(MOCK_BIN, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit");
  t.after(async () => {
    child.stdin.end();
    await exited;
  });
  const lines = readline.createInterface({ input: child.stdout });
  const [url] = await Promise.race([
    once(lines, "line"),
    exited.then(([code]) => {
      throw new Error(`mock-responses exited with ${code} before printing its URL`);
    }),
  ]);
  lines.close();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  return {
    url,
    /** Every request the mock received, as {method, path, headers, body}. */
    requests() {
      if (!existsSync(log)) return [];
      return readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line));
    },
  };
}

/**
 * A Codex client for our binary talking to `mock`, with a fresh CODEX_HOME and HOME and
 * nothing inherited from this process's environment but PATH.
 */
function newCodex(mock, { config } = {}) {
  const home = tempDir("home");
  return new Codex({
    codexPathOverride: CODEX_BIN,
    baseUrl: mock.url,
    apiKey: "sk-test",
    config,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CODEX_HOME: home },
  });
}

function userTexts(body) {
  return body.input
    .filter((item) => item.type === "message" && item.role === "user")
    .flatMap((item) => item.content)
    .filter((part) => part.type === "input_text")
    .map((part) => part.text);
}

// A 1×1 red PNG.
const PIXEL_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

const THREAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------
// Cases.

test("run() returns the final response, the items and the usage", TIMEOUT, async (t) => {
  const mock = await startMock(t, [
    turnReply([messageDone("msg_1", "Hello from the mock")], [100, 40, 20, 5]),
  ]);
  const thread = newCodex(mock).startThread({
    model: "gpt-5-codex",
    workingDirectory: gitRepo(),
  });
  assert.equal(thread.id, null);

  const turn = await thread.run("Say hello");

  assert.equal(turn.finalResponse, "Hello from the mock");
  assert.deepEqual(turn.items, [
    { id: "item_0", type: "agent_message", text: "Hello from the mock" },
  ]);
  assert.deepEqual(turn.usage, {
    input_tokens: 100,
    cached_input_tokens: 40,
    cache_write_input_tokens: 0,
    output_tokens: 20,
    reasoning_output_tokens: 5,
  });
  assert.match(thread.id, THREAD_ID);

  const requests = mock.requests();
  assert.equal(requests.length, 1);
  const [request] = requests;
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/v1/responses");
  assert.equal(request.headers.authorization, "Bearer sk-test");
  assert.equal(request.headers.originator, "codex_sdk_ts");
  assert.equal(request.body.model, "gpt-5-codex");
  assert.equal(request.body.stream, true);
  assert.equal(request.body.prompt_cache_key, thread.id);
  // The SDK writes the prompt to stdin; it must arrive verbatim as the last user message.
  assert.equal(userTexts(request.body).at(-1), "Say hello");
});

test("runStreamed() yields the events in order", TIMEOUT, async (t) => {
  const mock = await startMock(t, [
    turnReply(
      [
        reasoningDone("rs_1", ["**Planning**", "Looking at the question"]),
        messageDone("msg_1", "Streaming works"),
      ],
      [50, 0, 12, 4],
    ),
  ]);
  const thread = newCodex(mock).startThread({ workingDirectory: gitRepo() });

  const { events } = await thread.runStreamed("Stream please");
  const seen = [];
  for await (const event of events) seen.push(event);

  assert.deepEqual(
    seen.map((e) => e.type),
    ["thread.started", "turn.started", "item.completed", "item.completed", "turn.completed"],
  );
  assert.match(seen[0].thread_id, THREAD_ID);
  assert.equal(thread.id, seen[0].thread_id);
  assert.deepEqual(seen[1], { type: "turn.started" });
  assert.deepEqual(seen[2].item, {
    id: "item_0",
    type: "reasoning",
    text: "**Planning**\nLooking at the question",
  });
  assert.deepEqual(seen[3].item, { id: "item_1", type: "agent_message", text: "Streaming works" });
  assert.deepEqual(seen[4].usage, {
    input_tokens: 50,
    cached_input_tokens: 0,
    cache_write_input_tokens: 0,
    output_tokens: 12,
    reasoning_output_tokens: 4,
  });
  assert.equal(mock.requests().length, 1);
});

test("outputSchema becomes text.format and the answer is the JSON text", TIMEOUT, async (t) => {
  const answer = '{"summary":"all good","status":"ok"}';
  const mock = await startMock(t, [turnReply([messageDone("msg_1", answer)])]);
  const schema = {
    type: "object",
    properties: {
      summary: { type: "string" },
      status: { type: "string", enum: ["ok", "action_required"] },
    },
    required: ["summary", "status"],
    additionalProperties: false,
  };
  const thread = newCodex(mock).startThread({ workingDirectory: gitRepo() });

  const turn = await thread.run("Summarise the repo", { outputSchema: schema });

  assert.equal(turn.finalResponse, answer);
  assert.deepEqual(JSON.parse(turn.finalResponse), { summary: "all good", status: "ok" });
  const [request] = mock.requests();
  assert.deepEqual(request.body.text.format, {
    type: "json_schema",
    name: "codex_output_schema",
    strict: true,
    schema,
  });
});

test("a failing turn rejects with the error message", TIMEOUT, async (t) => {
  // Every request gets a 500. Retries are limited through the SDK's `config` option,
  // which it turns into `--config` flags for a custom provider pointing at the mock.
  const mock = await startMock(t, [], { status: 500, body: { error: { message: "boom" } } });
  const codex = newCodex(mock, {
    config: {
      model_provider: "mock",
      model_providers: {
        mock: {
          name: "Mock",
          base_url: mock.url,
          env_key: "CODEX_API_KEY",
          wire_api: "responses",
          request_max_retries: 1,
          stream_max_retries: 1,
        },
      },
    },
  });
  const thread = codex.startThread({ workingDirectory: gitRepo() });

  await assert.rejects(thread.run("This will fail"), (error) => {
    assert.equal(error.message, HIGH_DEMAND);
    return true;
  });
  // (1 + request_max_retries) × (1 + stream_max_retries) attempts.
  const requests = mock.requests();
  assert.equal(requests.length, 4);
  for (const request of requests) {
    assert.equal(request.path, "/v1/responses");
    assert.equal(request.headers.authorization, "Bearer sk-test");
  }
});

test("runStreamed() reports a failure as error + turn.failed", TIMEOUT, async (t) => {
  const mock = await startMock(t, [
    { status: 400, body: { error: { message: "bad request", type: "invalid_request_error" } } },
  ]);
  const thread = newCodex(mock).startThread({ workingDirectory: gitRepo() });

  const { events } = await thread.runStreamed("Bad");
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const event of events) seen.push(event);
    })(),
    /Codex Exec exited with code 1/,
  );

  assert.deepEqual(
    seen.map((e) => e.type),
    ["thread.started", "turn.started", "error", "turn.failed"],
  );
  assert.equal(seen[2].message, seen[3].error.message);
  assert.match(seen[3].error.message, /bad request/);
  assert.equal(mock.requests().length, 1);
});

test("every thread option the SDK maps to flags is accepted", TIMEOUT, async (t) => {
  // Exercises the whole argv the SDK can build for a new thread:
  // exec --experimental-json --config … --model --thread-source --sandbox --cd --add-dir
  // --skip-git-repo-check --config model_reasoning_effort/network_access/web_search/approval_policy
  const mock = await startMock(t, [turnReply([messageDone("msg_1", "options ok")])]);
  const workdir = tempDir("plain"); // not a git repository: needs skipGitRepoCheck
  const extra = tempDir("extra");
  const thread = newCodex(mock, { config: { model_reasoning_summary: "concise" } }).startThread({
    model: "gpt-5-codex",
    threadSource: "sdk-test",
    sandboxMode: "workspace-write",
    workingDirectory: workdir,
    additionalDirectories: [extra],
    skipGitRepoCheck: true,
    modelReasoningEffort: "high",
    networkAccessEnabled: false,
    webSearchMode: "disabled",
    approvalPolicy: "never",
  });

  const turn = await thread.run("Options");

  assert.equal(turn.finalResponse, "options ok");
  const [request] = mock.requests();
  assert.equal(request.body.model, "gpt-5-codex");
  assert.deepEqual(request.body.reasoning, { effort: "high", summary: "concise" });
  assert.equal(userTexts(request.body).at(-1), "Options");
});

test(
  "local_image input is sent as an input_image part",
  TIMEOUT,
  async (t) => {
    // The SDK passes images as trailing `--image <path>` flags and the text on stdin.
    const mock = await startMock(t, [turnReply([messageDone("msg_1", "a red pixel")])]);
    const dir = gitRepo();
    const image = path.join(dir, "pixel.png");
    writeFileSync(image, Buffer.from(PIXEL_PNG, "base64"));
    const thread = newCodex(mock).startThread({ workingDirectory: dir });

    const turn = await thread.run([
      { type: "text", text: "What is in this image?" },
      { type: "local_image", path: image },
    ]);

    assert.equal(turn.finalResponse, "a red pixel");
    const [request] = mock.requests();
    const parts = request.body.input.filter((i) => i.role === "user").at(-1).content;
    const images = parts.filter((p) => p.type === "input_image");
    assert.equal(images.length, 1);
    assert.equal(images[0].image_url, `data:image/png;base64,${PIXEL_PNG}`);
    assert.ok(parts.some((p) => p.type === "input_text" && p.text === "What is in this image?"));
  },
);

test("the cyberAccessProgram turn option is accepted", TIMEOUT, async (t) => {
  const mock = await startMock(t, [turnReply([messageDone("msg_1", "cyber ok")])]);
  const thread = newCodex(mock).startThread({ workingDirectory: gitRepo() });
  const turn = await thread.run("Cyber", { cyberAccessProgram: "standard" });
  assert.equal(turn.finalResponse, "cyber ok");
});

test(
  "modelReasoningEffort and config reasoning settings reach the body for an uncatalogued model",
  TIMEOUT,
  async (t) => {
    const mock = await startMock(t, [turnReply([messageDone("msg_1", "reasoned")])]);
    const thread = newCodex(mock, { config: { model_reasoning_summary: "detailed" } }).startThread({
      model: "my-local-model",
      workingDirectory: gitRepo(),
      modelReasoningEffort: "high",
    });

    const turn = await thread.run("Think hard");

    assert.equal(turn.finalResponse, "reasoned");
    const [request] = mock.requests();
    assert.equal(request.body.model, "my-local-model");
    assert.deepEqual(request.body.reasoning, { effort: "high", summary: "detailed" });
    assert.deepEqual(request.body.include, ["reasoning.encrypted_content"]);
  },
);

/** Pids of the processes whose command line contains `needle` (Linux /proc). */
function processesWith(needle) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ").at(-1)?.[0];
      if (cmdline.includes(needle) && state !== "Z") pids.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

/** Polls `predicate` every 50 ms until it holds or `ms` pass; returns its last value. */
async function waitFor(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!predicate() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return predicate();
}

test(
  "an aborted run() rejects with AbortError and leaves no process behind",
  { ...TIMEOUT, skip: process.platform !== "linux" && "reads /proc" },
  async (t) => {
    // The model starts a long background command, then its next answer stalls: the turn
    // is in flight, with a child of ours running, when the signal aborts it.
    const marker = `${Date.now() % 1000}.${process.pid % 1000}`;
    const mock = await startMock(t, [
      turnReply([
        {
          type: "response.output_item.done",
          item: {
            type: "function_call",
            id: "fc_1",
            call_id: "call_1",
            name: "exec_command",
            arguments: JSON.stringify({ cmd: `sleep 9${marker}`, yield_time_ms: 200 }),
          },
        },
      ]),
      { sse: [{ type: "response.created", response: { id: "resp_2" } }], stall_after: 1 },
    ]);
    const workingDirectory = gitRepo();
    const thread = newCodex(mock).startThread({
      model: "gpt-5-codex",
      workingDirectory,
      sandboxMode: "danger-full-access",
    });
    const controller = new AbortController();

    const run = thread.run("Start something slow", { signal: controller.signal });
    const rejected = assert.rejects(run, (error) => {
      assert.equal(error.name, "AbortError");
      return true;
    });
    assert.ok(
      await waitFor(() => mock.requests().length >= 2, 20_000),
      "the second model request never arrived",
    );
    assert.ok(processesWith(`sleep 9${marker}`).length > 0, "the background command is not running");
    controller.abort();
    await rejected;

    assert.ok(
      await waitFor(() => processesWith(workingDirectory).length === 0, 5_000),
      `codex still running: ${processesWith(workingDirectory)}`,
    );
    assert.ok(
      await waitFor(() => processesWith(`sleep 9${marker}`).length === 0, 5_000),
      `the background command survived: ${processesWith(`sleep 9${marker}`)}`,
    );
  },
);

test("a second run() and resumeThread() continue the same thread", TIMEOUT, async (t) => {
  const mock = await startMock(t, [
    turnReply([messageDone("msg_1", "first answer")], [100, 0, 10, 0]),
    turnReply([messageDone("msg_2", "second answer")], [100, 0, 10, 0]),
    turnReply([messageDone("msg_3", "third answer")], [100, 0, 10, 0]),
  ]);
  const codex = newCodex(mock);
  const workingDirectory = gitRepo();
  const thread = codex.startThread({ model: "gpt-5-codex", workingDirectory });
  await thread.run("first question");
  const id = thread.id;
  assert.match(id, THREAD_ID);

  const second = await thread.run("second question");
  assert.equal(thread.id, id);
  assert.equal(second.finalResponse, "second answer");
  assert.equal(second.usage.input_tokens, 200);

  const resumed = codex.resumeThread(id, { model: "gpt-5-codex", workingDirectory });
  const third = await resumed.run("third question");
  assert.equal(resumed.id, id);
  assert.equal(third.finalResponse, "third answer");
  assert.equal(third.usage.input_tokens, 300);

  const bodies = mock
    .requests()
    .filter((r) => r.path.endsWith("/responses"))
    .map((r) => r.body);
  assert.equal(bodies.length, 3);
  const conversation = (body) =>
    body.input
      .filter((item) => item.type === "message" && (item.role === "assistant" || item.role === "user"))
      .flatMap((item) => item.content)
      .map((part) => part.text)
      .filter((text) => /question|answer/.test(text));
  assert.deepEqual(conversation(bodies[1]), ["first question", "first answer", "second question"]);
  assert.deepEqual(conversation(bodies[2]), [
    "first question",
    "first answer",
    "second question",
    "second answer",
    "third question",
  ]);
});
