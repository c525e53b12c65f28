package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelSpecTest {
  @Test
  void shouldReadASpecWrittenBeforeTheNewFieldsWithTodaysDefaults() {
    String old = "{\"inputShape\":[1,28,28],\"preprocessing\":\"decode, grey = luma(RGB), scale /255 to [0,1], NCHW [N,1,H,W]\","
        + "\"labels\":[\"a\",\"b\"],\"layers\":[\"conv1\",\"pool1\",\"conv2\",\"pool2\",\"fc\",\"head\"],\"freezeBoundary\":\"pool2\"}";
    ModelSpec s = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), ModelSpec.class);
    assertThat(s.network()).isEqualTo(ModelSpec.NetworkType.MULTI_LAYER);
    assertThat(s.layout()).isEqualTo(ModelSpec.Layout.NCHW);
    assertThat(s.normalization()).isEqualTo(Normalization.UNIT);
    assertThat(s.resize()).isEqualTo(ModelSpec.Resize.NONE);
    assertThat(s.embeddingLayer()).isEqualTo("fc");
    assertThat(s.boundaries()).isEqualTo(Networks.BOUNDARIES);
    assertThat(s.channels()).isEqualTo(1);
  }

  @Test
  void shouldRoundTripEveryFieldThroughJson() {
    ModelSpec s = new ModelSpec(List.of(3, 32, 24), null, List.of("x", "y", "z"), List.of("stem", "block1", "pool", "fc",
        "head"), "pool", ModelSpec.NetworkType.GRAPH, ModelSpec.Layout.NHWC, Normalization.IMAGENET,
        ModelSpec.Resize.CENTER_CROP, "fc", List.of("fc", "pool", "block1"));
    String json = new String(Json.toBytes(s), StandardCharsets.UTF_8);
    assertThat(json).contains("\"network\":\"graph\"", "\"resize\":\"center-crop\"", "\"kind\":\"mean-std\"");
    assertThat(Json.fromBytes(json.getBytes(StandardCharsets.UTF_8), ModelSpec.class)).isEqualTo(s);
    assertThat(s.batchShape(5)).containsExactly(5, 32, 24, 3);
    assertThat(s.preprocessing()).contains("RGB", "center-crop", "0.485");
  }

  @Test
  void shouldRefuseASpecThatCannotDescribeANetwork() {
    assertThatThrownBy(() -> new ModelSpec(List.of(2, 8, 8), null, List.of("a"), List.of("fc", "head"), null))
        .hasMessageContaining("channels must be 1 (grey) or 3 (RGB), was 2");
    assertThatThrownBy(() -> ModelSpec.Resize.of("squash")).hasMessageContaining("unknown resize 'squash'")
        .hasMessageContaining("center-crop");
    assertThatThrownBy(() -> new ModelSpec(List.of(1, 8, 8), null, List.of("a"), List.of("fc", "head"), null, null, null,
        null, null, "fc", List.of("conv9"))).hasMessageContaining("boundary 'conv9' is not one of the layers [fc, head]");
    assertThatThrownBy(() -> Normalization.parse("mean-std:0.5/0.1,0.2")).hasMessageContaining("mean");
    assertThatThrownBy(() -> new ModelSpec(List.of(1, 8, 8), null, List.of("a"), List.of("fc", "head"), null, null, null,
        Normalization.IMAGENET, null, null, null)).hasMessageContaining("3 mean values for 1 channel(s)");
  }
}
