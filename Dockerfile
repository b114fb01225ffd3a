# syntax=docker/dockerfile:1
# The Gmsa HTTP service with the embedded default model (models/gmsa-tiny).
#   docker build -t gmsa-api .                                  # CPU libtorch (the default)
#   docker build -t gmsa-api:cuda --build-arg TORCH_BACKEND=cuda .   # CUDA libtorch: restores TorchSharp-cuda-linux from nuget.org
#   docker run --rm -p 8080:8080 gmsa-api                       # add --gpus all for the CUDA image
ARG TORCH_BACKEND=cpu

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH_BACKEND
WORKDIR /src
# Restore first, from the project files alone, so source edits reuse the (large) libtorch layer.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/Gmsa.Engine/Gmsa.Engine.csproj src/Gmsa.Engine/
COPY src/Gmsa.Api/Gmsa.Api.csproj src/Gmsa.Api/
RUN dotnet restore src/Gmsa.Api/Gmsa.Api.csproj -p:TorchBackend=${TORCH_BACKEND}
COPY src/Gmsa.Engine/ src/Gmsa.Engine/
COPY src/Gmsa.Api/ src/Gmsa.Api/
RUN dotnet publish src/Gmsa.Api/Gmsa.Api.csproj -c Release --no-restore -p:TorchBackend=${TORCH_BACKEND} -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl only for the health check below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
COPY models/gmsa-tiny/ models/gmsa-tiny/
ENV ASPNETCORE_HTTP_PORTS=8080 \
    Gmsa__Model__Path=/app/models/gmsa-tiny
EXPOSE 8080
# The aspnet images define an unprivileged user "app" (uid APP_UID).
USER $APP_UID
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD curl --fail --silent --show-error http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "Gmsa.Api.dll"]
