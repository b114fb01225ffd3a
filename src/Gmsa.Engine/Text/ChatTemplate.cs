using System.Text;
using System.Text.Json;

namespace Gmsa.Engine.Text;

/// <summary>The chat prompt layouts Gmsa knows (see <see cref="ChatTemplate"/>).</summary>
public enum ChatFormat
{
    /// <summary>No template: message contents joined by blank lines (base models such as stories260K).</summary>
    Plain,
    /// <summary>Qwen2/2.5/3: &lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n.</summary>
    ChatML,
    /// <summary>LLaMA-2-chat: &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;...&lt;&lt;/SYS&gt;&gt; user [/INST] assistant &lt;/s&gt;.</summary>
    Llama2,
    /// <summary>LLaMA-3-instruct: &lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;.</summary>
    Llama3,
}

/// <summary>One chat turn; role is one of <see cref="ChatTemplate.Roles"/>.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// A rendered prompt and whether it already starts with BOS: encode it with addBos: !IncludesBos, or
/// better call <see cref="ChatTemplate.Encode"/> (for LLaMA-2 it matches Meta's per-turn ids exactly).
/// </summary>
public sealed record ChatPrompt(string Text, bool IncludesBos);

/// <summary>
/// Renders chat messages in a model family's prompt format. This is a small, fixed set of
/// hand-written formats, not a Jinja interpreter: a model's own chat_template is not read, so
/// variations it makes are not reproduced (Qwen2's default system prompt when none is given, Qwen3's
/// &lt;think&gt; blocks, LLaMA-3.1's date header, tool calls). Pass a system message explicitly when
/// the model expects one. Prefer <see cref="Encode"/>, which adds BOS exactly once.
/// </summary>
public sealed class ChatTemplate
{
    public ChatTemplate(ChatFormat format) => Format = format;

    /// <summary>
    /// The roles a message may have. developer is OpenAI's newer name for system (its clients send it for o-series
    /// models): the same instructions, rendered as a system message, since no model's template here knows it.
    /// </summary>
    public static IReadOnlyList<string> Roles { get; } = ["system", "developer", "user", "assistant"];

    public ChatFormat Format { get; }

    /// <summary>
    /// Picks the format for a model folder: config.json model_type qwen2/qwen3 (and their MoE
    /// variants) → ChatML; a tokenizer with &lt;|start_header_id|&gt; → Llama3; a tokenizer_config.json
    /// with a chat_template → Llama2; anything else (a base model without a chat template) → Plain.
    /// </summary>
    public static ChatTemplate Detect(string modelDir, TextTokenizer tokenizer)
    {
        string configPath = Path.Combine(modelDir, "config.json");
        if (File.Exists(configPath))
        {
            var type = Checkpoints.JsonFile.Read(configPath, json =>
            {
                using var doc = JsonDocument.Parse(json);
                return doc.RootElement.TryGetProperty("model_type", out JsonElement mt) ? mt.GetString() : null;
            });
            if (type is not null && type.StartsWith("qwen", StringComparison.Ordinal)) return new ChatTemplate(ChatFormat.ChatML);
        }
        if (tokenizer.TokenId("<|start_header_id|>") is not null) return new ChatTemplate(ChatFormat.Llama3);
        if (TokenizerConfig.Load(modelDir).HasChatTemplate) return new ChatTemplate(ChatFormat.Llama2);
        return new ChatTemplate(ChatFormat.Plain);
    }

    /// <summary>
    /// The prompt text. With <paramref name="addGenerationPrompt"/> the text ends where the
    /// assistant's reply begins (Llama2 always does: its last user turn ends in [/INST]).
    /// </summary>
    public ChatPrompt Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        Validate(messages);
        return Format switch
        {
            ChatFormat.Plain => new ChatPrompt(string.Join("\n\n", messages.Select(m => m.Content)), IncludesBos: false),
            ChatFormat.ChatML => new ChatPrompt(RenderChatMl(messages, addGenerationPrompt), IncludesBos: false),
            ChatFormat.Llama2 => new ChatPrompt(RenderLlama2(messages), IncludesBos: true),
            ChatFormat.Llama3 => new ChatPrompt(RenderLlama3(messages, addGenerationPrompt), IncludesBos: true),
            _ => throw new InvalidOperationException($"unknown chat format {Format}"),
        };
    }

    /// <summary>
    /// Renders and encodes, letting the tokenizer add BOS only when the template did not. LLaMA-2
    /// turns are encoded one by one, as Meta's reference does (BOS + "[INST] ... [/INST] answer " + EOS
    /// per exchange), so each turn's "[INST]" gets SentencePiece's leading space like the first one.
    /// </summary>
    public IReadOnlyList<int> Encode(TextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (Format == ChatFormat.Llama2 && tokenizer.BosId is int bos && tokenizer.EosId is int eos)
        {
            Validate(messages);
            var ids = new List<int>();
            foreach ((string turn, bool answered) in Llama2Turns(messages))
            {
                ids.Add(bos);
                ids.AddRange(tokenizer.Encode(turn, addBos: false));
                if (answered) ids.Add(eos);
            }
            return ids;
        }
        ChatPrompt prompt = Render(messages, addGenerationPrompt);
        return tokenizer.Encode(prompt.Text, addBos: !prompt.IncludesBos);
    }

    private static string RenderChatMl(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var sb = new StringBuilder();
        foreach (ChatMessage m in messages)
            sb.Append("<|im_start|>").Append(TemplateRole(m.Role)).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        if (addGenerationPrompt) sb.Append("<|im_start|>assistant\n");
        return sb.ToString();
    }

    private static void Validate(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new ArgumentException("at least one message is needed", nameof(messages));
        foreach (ChatMessage m in messages)
            if (!Roles.Contains(m.Role))
                throw new ArgumentException($"role '{m.Role}' is not supported ({string.Join(", ", Roles)} are)", nameof(messages));
    }

    /// <summary>The role as the formats write it: developer as system.</summary>
    private static string TemplateRole(string role) => role == "developer" ? "system" : role;

    private static string RenderLlama2(IReadOnlyList<ChatMessage> messages) =>
        string.Concat(Llama2Turns(messages).Select(t => "<s>" + t.Text + (t.Answered ? "</s>" : "")));

    /// <summary>
    /// LLaMA-2-chat's exchanges without their BOS/EOS: "[INST] user [/INST]" plus " answer " when
    /// answered. The system (or developer) prompt folds into the first user turn; turns must alternate
    /// user/assistant; contents are trimmed.
    /// </summary>
    private static List<(string Text, bool Answered)> Llama2Turns(IReadOnlyList<ChatMessage> messages)
    {
        string? system = TemplateRole(messages[0].Role) == "system" ? messages[0].Content.Trim() : null;
        int start = system is null ? 0 : 1;
        if (messages.Count == start) throw new ArgumentException("LLaMA-2 chat needs a user message", nameof(messages));
        var turns = new List<(string Text, bool Answered)>();
        for (int i = start; i < messages.Count; i++)
        {
            ChatMessage m = messages[i];
            string expected = (i - start) % 2 == 0 ? "user" : "assistant";
            if (m.Role != expected)
                throw new ArgumentException($"LLaMA-2 chat needs alternating user/assistant turns after an optional system " +
                                            $"message; message {i} is '{m.Role}', expected '{expected}'", nameof(messages));
            string content = m.Content.Trim();
            if (m.Role == "user")
            {
                if (i == start && system is not null) content = $"<<SYS>>\n{system}\n<</SYS>>\n\n{content}";
                turns.Add(($"[INST] {content} [/INST]", false));
            }
            else
            {
                turns[^1] = (turns[^1].Text + $" {content} ", true);
            }
        }
        return turns;
    }

    private static string RenderLlama3(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var sb = new StringBuilder("<|begin_of_text|>");
        foreach (ChatMessage m in messages)
            sb.Append("<|start_header_id|>").Append(TemplateRole(m.Role)).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
        if (addGenerationPrompt) sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return sb.ToString();
    }
}
