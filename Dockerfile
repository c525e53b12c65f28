# One image for every StreamTune service: `streamtune <command>` picks which.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
# the data ships in the image (installed when it is built, never at start-up); curl answers the healthchecks
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl \
    && (DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dataset-fashion-mnist \
    || echo "dataset-fashion-mnist not available in this base image: mount the IDX files and pass --data") \
    ; rm -rf /var/lib/apt/lists/*
# not root: the model store volume is created from this directory, owned by the service user
RUN useradd --system --uid 10001 --home-dir /var/lib/streamtune streamtune \
    && mkdir -p /var/lib/streamtune/store && chown -R streamtune /var/lib/streamtune
WORKDIR /opt/streamtune
COPY --from=build /src/standalone/target/streamtune.jar /opt/streamtune/streamtune.jar
COPY --from=build /src/standalone/target/lib /opt/streamtune/lib
USER streamtune
# Memory within the container's limit: ND4J keeps tensors off the heap, and JavaCPP lets them grow to the heap's maximum
# (org.bytedeco.javacpp.maxBytes defaults to -Xmx) with the process bounded near twice it (maxPhysicalBytes), so the heap
# takes 40 % of the limit and heap + tensors stay under about 80 %; set JAVA_TOOL_OPTIONS to change it
# glibc malloc kept from refaulting DL4J's per-call buffers (the reasons are in bin/streamtune)
ENV MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=67108864
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=40", "-jar", "/opt/streamtune/streamtune.jar"]
