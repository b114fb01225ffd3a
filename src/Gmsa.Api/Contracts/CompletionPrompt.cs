using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gmsa.Api.Contracts;

/// <summary>
/// A completion's prompt as OpenAI's API takes it: a string, or an array of strings completed side by side (what
/// LangChain's OpenAI LLM and other batching clients send). Token-id prompts are refused with a message saying so.
/// </summary>
[JsonConverter(typeof(CompletionPromptConverter))]
[System.ComponentModel.Description("a string or an array of strings")]
public sealed record CompletionPrompt(IReadOnlyList<string?> Texts, bool IsString = false)
{
    public static CompletionPrompt FromString(string text) => new([text], IsString: true);
}

/// <summary>Reads a string or an array of strings; writes back the shape it read.</summary>
public sealed class CompletionPromptConverter : JsonConverter<CompletionPrompt>
{
    public override CompletionPrompt Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return CompletionPrompt.FromString(reader.GetString()!);
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"prompt must be a string or an array of strings, not {reader.TokenType}");
        var texts = new List<string?>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            texts.Add(reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString(),
                JsonTokenType.Null => null,
                JsonTokenType.Number or JsonTokenType.StartArray => throw new JsonException("prompts as token ids are not taken here: send the text"),
                _ => throw new JsonException($"prompt must be a string or an array of strings, not an array holding {reader.TokenType}"),
            });
        return new CompletionPrompt(texts);
    }

    public override void Write(Utf8JsonWriter writer, CompletionPrompt value, JsonSerializerOptions options)
    {
        if (value.IsString) writer.WriteStringValue(value.Texts[0]);
        else JsonSerializer.Serialize(writer, value.Texts, options);
    }
}
