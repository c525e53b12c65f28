package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.junit.jupiter.api.Test;

class RejectHeadersTest {
  private static final RecordMetadata AT = new RecordMetadata() {
    @Override
    public String topic() {
      return "streamtune.feedback";
    }

    @Override
    public int partition() {
      return 2;
    }

    @Override
    public long offset() {
      return 41;
    }
  };

  @Test
  void shouldCopyTheOriginalHeadersAndAddReasonOriginAndRejecter() {
    Headers original = new RecordHeaders().add("annotator", utf8("ann"));

    Headers out = RejectHeaders.of(original, "unknown label 'x'", "streamtune-ingest", Optional.of(AT));

    assertThat(text(out, "annotator")).isEqualTo("ann");
    assertThat(text(out, Topics.HEADER_REJECT_REASON)).isEqualTo("unknown label 'x'");
    assertThat(text(out, Topics.HEADER_REJECT_TOPIC)).isEqualTo("streamtune.feedback-2@41");
    assertThat(text(out, Topics.HEADER_REJECT_BY)).isEqualTo("streamtune-ingest");
    assertThat(original.lastHeader(Topics.HEADER_REJECT_REASON)).as("the original is not changed").isNull();
  }

  @Test
  void shouldReplaceTheHeadersOfAnEarlierRejection() {
    // a record replayed from records.rejected and rejected again carries only the new rejection's reason, origin and rejecter
    Headers original = new RecordHeaders().add("annotator", utf8("ann"))
        .add(Topics.HEADER_REJECT_REASON, utf8("old reason")).add(Topics.HEADER_REJECT_TOPIC, utf8("streamtune.inputs-0@1"))
        .add(Topics.HEADER_REJECT_BY, utf8("streamtune-trainer"));

    Headers out = RejectHeaders.of(original, "new reason", "streamtune-evaluator", Optional.of(AT));

    assertThat(out.headers(Topics.HEADER_REJECT_REASON)).hasSize(1);
    assertThat(out.headers(Topics.HEADER_REJECT_TOPIC)).hasSize(1);
    assertThat(out.headers(Topics.HEADER_REJECT_BY)).hasSize(1);
    assertThat(text(out, Topics.HEADER_REJECT_REASON)).isEqualTo("new reason");
    assertThat(text(out, Topics.HEADER_REJECT_BY)).isEqualTo("streamtune-evaluator");
    assertThat(text(out, "annotator")).isEqualTo("ann");
  }

  @Test
  void shouldLeaveTheOriginOutWhenTheRecordHasNone() {
    Headers out = RejectHeaders.of(null, "bad", "streamtune-ingest", Optional.empty());

    assertThat(text(out, Topics.HEADER_REJECT_REASON)).isEqualTo("bad");
    assertThat(text(out, Topics.HEADER_REJECT_BY)).isEqualTo("streamtune-ingest");
    assertThat(out.lastHeader(Topics.HEADER_REJECT_TOPIC)).isNull();
    assertThat(RejectHeaders.origin(Optional.empty())).isEqualTo("?");
    assertThat(RejectHeaders.origin(Optional.of(AT))).isEqualTo("streamtune.feedback-2@41");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Headers h, String name) {
    return new String(h.lastHeader(name).value(), StandardCharsets.UTF_8);
  }
}
