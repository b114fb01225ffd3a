using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gmsa.Api.Contracts;

/// <summary>
/// A chat message's content as OpenAI's API takes it: a string, or an array of parts (<c>{"type": "text", "text": ...}</c>,
/// <c>image_url</c>, <c>input_audio</c>, ...), which the official clients and many frameworks send. Parts are kept as read,
/// their other fields skipped, so the endpoint can name a part this text-only model cannot read.
/// </summary>
[JsonConverter(typeof(ChatContentConverter))]
[System.ComponentModel.Description("a string or an array of content parts ({\"type\": \"text\", \"text\": ...})")]
public sealed record ChatContent(IReadOnlyList<ChatContentPart?> Parts, bool IsString = false)
{
    public const string TextType = "text";

    public static ChatContent FromString(string text) => new([new ChatContentPart(TextType, text)], IsString: true);

    /// <summary>The text parts' text in order (call once <see cref="Problem"/> has found none other).</summary>
    public string Text => string.Concat(Parts.Select(p => p!.Text));

    /// <summary>Why message <paramref name="message"/>'s content cannot be read as text, or null when every part is text.</summary>
    public string? Problem(int message)
    {
        for (int i = 0; i < Parts.Count; i++)
        {
            var part = Parts[i];
            if (part?.Type != TextType)
                return $"message {message} has a content part {i} of type '{part?.Type ?? "null"}'; this model reads text parts only";
            if (part.Text is null) return $"message {message} has a text content part {i} without text";
        }
        return null;
    }
}

/// <summary>One part of an array content; fields other than type and text (image_url, input_audio, ...) are skipped.</summary>
public sealed record ChatContentPart(string? Type, string? Text);

/// <summary>Reads a string or an array of parts; writes back the shape it read.</summary>
public sealed class ChatContentConverter : JsonConverter<ChatContent>
{
    public override ChatContent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => ChatContent.FromString(reader.GetString()!),
            JsonTokenType.StartArray => new ChatContent(JsonSerializer.Deserialize<ChatContentPart?[]>(ref reader, options)!),
            _ => throw new JsonException($"content must be a string or an array of content parts, not {reader.TokenType}"),
        };

    public override void Write(Utf8JsonWriter writer, ChatContent value, JsonSerializerOptions options)
    {
        if (value.IsString) writer.WriteStringValue(value.Text);
        else JsonSerializer.Serialize(writer, value.Parts, options);
    }
}
