# One image for every StreamTune service: `streamtune <command>` picks which.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dataset-fashion-mnist \
    || echo "dataset-fashion-mnist not available in this base image: mount the IDX files and pass --data" ; rm -rf /var/lib/apt/lists/*
WORKDIR /opt/streamtune
COPY --from=build /src/standalone/target/streamtune.jar /opt/streamtune/streamtune.jar
COPY --from=build /src/standalone/target/lib /opt/streamtune/lib
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/opt/streamtune/streamtune.jar"]
