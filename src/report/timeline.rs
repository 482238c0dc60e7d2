//! A session's timeline for the dashboard: turns (prompt -> assistant texts and tool calls with
//! their outcome and duration -> response), subagents nested under the tool call that started
//! them, tokens and a list-price estimate per turn. Only what the store holds is shown: text
//! already redacted and truncated as it was recorded.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::store::SessionEvent;
use crate::time;
use crate::transcript::PriceTable;
use crate::transcript::prices::Billable;

use super::Tokens;

/// Builds the turns from the session's events, oldest first. Transcript items are the record
/// when there are any; a session whose transcript was never read shows its hook events.
pub fn turns(events: &[SessionEvent], prices: &PriceTable) -> Vec<Value> {
    let parsed: Vec<(&SessionEvent, Value)> =
        events.iter().filter_map(|e| serde_json::from_str(&e.payload).ok().map(|p| (e, p))).collect();
    let has_transcript = parsed.iter().any(|(e, _)| e.event_type == "message");
    // Claude Code's own tool durations, from the hook events, by tool-use id.
    let mut hook_ms: HashMap<String, f64> = HashMap::new();
    for (e, p) in &parsed {
        if matches!(e.event_type.as_str(), "tool_use" | "tool_failure")
            && let (Some(id), Some(ms)) = (p["detail"]["toolUseId"].as_str(), p["detail"]["durationMs"].as_f64())
        {
            hook_ms.insert(id.to_owned(), ms);
        }
    }
    let mut b = Builder { prices, turns: Vec::new(), seen_messages: HashMap::new(), agents: HashMap::new() };
    for (e, p) in &parsed {
        let d = &p["detail"];
        if has_transcript {
            if e.event_type != "message" {
                continue;
            }
            let agent = d["agentId"].as_str();
            let item = match d["kind"].as_str() {
                Some("prompt") if agent.is_none() => {
                    b.start_turn(e.timestamp, d["text"].as_str());
                    continue;
                }
                Some("tool_result") => {
                    b.result(agent, d, e.timestamp, &hook_ms);
                    continue;
                }
                Some("tool_use") => json!({
                    "kind": "tool", "at": time::iso8601(e.timestamp), "tool": d["toolName"], "toolUseId": d["toolUseId"],
                    "input": d["toolInput"], "outcome": Value::Null, "durationMs": Value::Null,
                }),
                Some(kind @ ("text" | "thinking" | "prompt" | "api_error")) => json!({
                    "kind": kind, "at": time::iso8601(e.timestamp), "text": d["text"], "role": d["role"],
                }),
                _ => continue,
            };
            b.usage(agent, d, p["model"].as_str().or(d["model"].as_str()), e.timestamp);
            b.push(agent, e.timestamp, item);
        } else {
            match e.event_type.as_str() {
                "user_prompt" => b.start_turn(e.timestamp, d["prompt"]["text"].as_str()),
                "tool_use" | "tool_failure" => {
                    let failed = e.event_type == "tool_failure";
                    let item = json!({
                        "kind": "tool", "at": time::iso8601(e.timestamp), "tool": d["toolName"], "toolUseId": d["toolUseId"],
                        "input": d["input"], "outcome": if failed { "error" } else { "ok" }, "durationMs": d["durationMs"],
                        "error": d["output"]["error"],
                    });
                    b.push(None, e.timestamp, item);
                }
                "response_complete" => {
                    if let Some(text) = d["lastAssistantMessage"].as_str() {
                        let item = json!({ "kind": "text", "at": time::iso8601(e.timestamp), "text": text, "role": "assistant" });
                        b.push(None, e.timestamp, item);
                    }
                }
                _ => {}
            }
        }
    }
    b.finish()
}

struct Turn {
    prompt: Value,
    items: Vec<Value>,
    tokens: Tokens,
    cost: f64,
    unpriced_messages: u64,
}

struct Builder<'p> {
    prices: &'p PriceTable,
    turns: Vec<Turn>,
    /// Message ids already counted: Claude Code repeats a message's usage on each of its blocks.
    seen_messages: HashMap<String, ()>,
    /// Subagent id -> (turn, index of its group item in that turn).
    agents: HashMap<String, (usize, usize)>,
}

impl Builder<'_> {
    fn start_turn(&mut self, at: i64, text: Option<&str>) {
        self.turns.push(Turn {
            prompt: json!({ "at": time::iso8601(at), "text": text }),
            items: Vec::new(),
            tokens: Tokens::default(),
            cost: 0.0,
            unpriced_messages: 0,
        });
    }

    fn current(&mut self, at: i64) -> usize {
        if self.turns.is_empty() {
            self.start_turn(at, None);
        }
        self.turns.len() - 1
    }

    /// The item list an item of `agent` goes to: the turn's own, or its subagent group, which
    /// sits under the latest tool call that starts agents (`Agent`, `Task`) before it.
    fn list(&mut self, agent: Option<&str>, at: i64) -> &mut Vec<Value> {
        let t = self.current(at);
        let Some(agent) = agent else { return &mut self.turns[t].items };
        let (t, i) = match self.agents.get(agent) {
            Some(&place) => place,
            None => {
                let items = &mut self.turns[t].items;
                let group = json!({ "kind": "subagent", "agentId": agent, "at": time::iso8601(at), "items": [] });
                let parent = items
                    .iter()
                    .rposition(|it| it["kind"] == "tool" && matches!(it["tool"].as_str(), Some("Agent" | "Task")));
                let index = match parent {
                    Some(p) => {
                        items[p]["subagents"] = json!([group]);
                        p
                    }
                    None => {
                        items.push(group);
                        items.len() - 1
                    }
                };
                self.agents.insert(agent.to_owned(), (t, index));
                (t, index)
            }
        };
        let holder = &mut self.turns[t].items[i];
        let group = if holder["kind"] == "subagent" {
            holder
        } else {
            let groups = holder["subagents"].as_array_mut().expect("set when placed");
            let pos = groups.iter().position(|g| g["agentId"] == agent).unwrap_or_else(|| {
                groups.push(json!({ "kind": "subagent", "agentId": agent, "at": time::iso8601(at), "items": [] }));
                groups.len() - 1
            });
            &mut groups[pos]
        };
        group["items"].as_array_mut().expect("a group has items")
    }

    fn push(&mut self, agent: Option<&str>, at: i64, item: Value) {
        self.list(agent, at).push(item);
    }

    /// Marks the matching tool call with its outcome and duration.
    fn result(&mut self, agent: Option<&str>, d: &Value, at: i64, hook_ms: &HashMap<String, f64>) {
        let Some(id) = d["toolUseId"].as_str() else { return };
        let items = self.list(agent, at);
        if let Some(call) = items.iter_mut().rev().find(|it| it["toolUseId"] == id) {
            call["outcome"] = d["outcome"].clone();
            let used = call["at"].as_str().and_then(time::parse_iso8601);
            call["durationMs"] = match (hook_ms.get(id), used) {
                (Some(ms), _) => json!(ms),
                (None, Some(u)) if at >= u => json!(at - u),
                _ => Value::Null,
            };
            if let Some(chars) = d["resultChars"].as_u64() {
                call["resultChars"] = json!(chars);
            }
        }
    }

    /// Adds a message's usage to the current turn, once per message id.
    fn usage(&mut self, agent: Option<&str>, d: &Value, model: Option<&str>, at: i64) {
        let u = &d["usage"];
        if !u.is_object() {
            return;
        }
        if let Some(id) = d["messageId"].as_str() {
            let key = format!("{}:{id}", agent.unwrap_or(""));
            if self.seen_messages.insert(key, ()).is_some() {
                return;
            }
        }
        let n = |k: &str| u[k].as_i64().unwrap_or(0);
        let tokens = Tokens {
            input: n("input"),
            output: n("output"),
            cache_creation: n("cacheCreation"),
            cache_read: n("cacheRead"),
        };
        let price = model.and_then(|m| self.prices.lookup(m));
        let t = self.current(at);
        let turn = &mut self.turns[t];
        turn.tokens.add(&tokens);
        match price {
            Some(p) => {
                turn.cost += p.cost(&Billable {
                    input: tokens.input as u64,
                    output: tokens.output as u64,
                    cache_creation: tokens.cache_creation as u64,
                    cache_read: tokens.cache_read as u64,
                    ..Billable::default()
                })
            }
            None => turn.unpriced_messages += 1,
        }
    }

    fn finish(self) -> Vec<Value> {
        self.turns
            .into_iter()
            .map(|t| {
                let mut m = Map::new();
                m.insert("prompt".into(), t.prompt);
                m.insert("items".into(), Value::Array(t.items));
                m.insert("tokens".into(), serde_json::to_value(t.tokens).unwrap_or_default());
                m.insert("cost".into(), json!(t.cost));
                m.insert("unpricedMessages".into(), json!(t.unpriced_messages));
                Value::Object(m)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, ty: &str, ts: i64, payload: Value) -> SessionEvent {
        SessionEvent { seq, event_type: ty.into(), timestamp: ts, payload: payload.to_string() }
    }

    #[test]
    fn nests_subagents_under_their_agent_call_and_counts_each_message_once() {
        let usage = json!({ "input": 10, "output": 5, "cacheCreation": 0, "cacheRead": 100 });
        let events = vec![
            ev(1, "message", 1, json!({ "detail": { "kind": "prompt", "role": "user", "text": "go" } })),
            ev(
                2,
                "message",
                2,
                json!({ "model": "claude-opus-5-5", "detail": { "kind": "text", "role": "assistant", "text": "ok", "messageId": "m1", "usage": usage } }),
            ),
            ev(
                3,
                "message",
                3,
                json!({ "model": "claude-opus-5-5", "detail": { "kind": "tool_use", "toolName": "Agent", "toolUseId": "t1", "messageId": "m1", "usage": usage } }),
            ),
            ev(
                4,
                "message",
                4,
                json!({ "detail": { "agentId": "a1", "kind": "prompt", "role": "user", "text": "sub" } }),
            ),
            ev(
                5,
                "message",
                5,
                json!({ "model": "claude-opus-5-5", "detail": { "agentId": "a1", "kind": "tool_use", "toolName": "Bash", "toolUseId": "t2", "messageId": "m2", "usage": usage } }),
            ),
            ev(
                6,
                "message",
                9,
                json!({ "detail": { "agentId": "a1", "kind": "tool_result", "toolUseId": "t2", "outcome": "error" } }),
            ),
            ev(7, "message", 20, json!({ "detail": { "kind": "tool_result", "toolUseId": "t1", "outcome": "ok" } })),
            ev(8, "tool_use", 21, json!({ "detail": { "toolUseId": "t1", "toolName": "Agent", "durationMs": 17 } })),
        ];
        let turns = turns(&events, &PriceTable::bundled());
        assert_eq!(turns.len(), 1);
        let t = &turns[0];
        assert_eq!(t["prompt"]["text"], "go");
        assert_eq!(t["tokens"]["input"], 20, "m1 counted once, m2 once");
        assert!(t["cost"].as_f64().unwrap() > 0.0);
        let agent = &t["items"][1];
        assert_eq!(
            (agent["tool"].as_str(), agent["outcome"].as_str(), agent["durationMs"].as_f64()),
            (Some("Agent"), Some("ok"), Some(17.0))
        );
        let sub = &agent["subagents"][0];
        assert_eq!(sub["agentId"], "a1");
        assert_eq!(sub["items"][0]["kind"], "prompt");
        assert_eq!(
            (sub["items"][1]["outcome"].as_str(), sub["items"][1]["durationMs"].as_i64()),
            (Some("error"), Some(4))
        );
    }
}
