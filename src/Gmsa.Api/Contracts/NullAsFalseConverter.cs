using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gmsa.Api.Contracts;

/// <summary>A boolean that reads JSON null as false: OpenAI's optional flags are "boolean or null", and clients send null.</summary>
public sealed class NullAsFalseConverter : JsonConverter<bool>
{
    public override bool HandleNull => true;

    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => false,
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw new JsonException($"expected true, false or null, got {reader.TokenType}"),
        };

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}
