using System.Buffers;
using Gmsa.Api.Hosting;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Tests.Hosting;

public sealed class SoftTokenCacheSerializerTests
{
    static byte[] Write(SoftTokenData value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new SoftTokenCacheSerializer().Serialize(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData("bfloat16", 2)]
    [InlineData("float32", 4)]
    public void RoundTrip_EitherDtype_SameRecordAndHeaderPlusRawBytes(string dtype, int width)
    {
        var raw = Enumerable.Range(0, 3 * 5 * width).Select(i => (byte)(i * 7)).ToArray();
        var value = new SoftTokenData(3, 5, dtype, raw, ContextTokens: 11, Rate: 4);

        var bytes = Write(value);
        var back = new SoftTokenCacheSerializer().Deserialize(new ReadOnlySequence<byte>(bytes));

        Assert.Equal(24 + raw.Length, bytes.Length);
        Assert.Equal((value.Count, value.Dimension, value.Dtype, value.ContextTokens, value.Rate), (back.Count, back.Dimension, back.Dtype, back.ContextTokens, back.Rate));
        Assert.Equal(raw, back.Raw);
    }

    [Fact]
    public void Deserialize_TruncatedOrForeignPayload_ThrowsInvalidData()
    {
        var bytes = Write(new SoftTokenData(2, 2, "float32", new byte[16], 8, 4));
        var serializer = new SoftTokenCacheSerializer();

        Assert.Throws<InvalidDataException>(() => serializer.Deserialize(new ReadOnlySequence<byte>(bytes[..^1])));
        Assert.Throws<InvalidDataException>(() => serializer.Deserialize(new ReadOnlySequence<byte>(bytes[..10])));
        Assert.Throws<InvalidDataException>(() => serializer.Deserialize(new ReadOnlySequence<byte>("{\"Count\":2}"u8.ToArray())));
    }
}
