package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.serving.Fixtures;
import org.junit.jupiter.api.Test;

class ModelHolderTest {
  private static LoadedModel v(int version) {
    return Fixtures.loaded("fashion", version, null);
  }

  @Test
  void shouldKeepTheServingVersionAndThePreviousOnesUpToTheLimit() {
    ModelHolder holder = new ModelHolder(2);
    assertThat(holder.current()).isNull();
    assertThat(holder.loadedVersions()).isEmpty();

    holder.swap(v(1));
    holder.swap(v(2));
    holder.swap(v(3));
    assertThat(holder.loadedVersions()).containsExactly(1, 2, 3);
    assertThat(holder.swap(v(4)).version()).isEqualTo(3);

    assertThat(holder.version()).hasValue(4);
    assertThat(holder.loadedVersions()).containsExactly(2, 3, 4);
    assertThat(holder.get(1)).isEmpty();
    assertThat(holder.get(2)).map(LoadedModel::version).hasValue(2);
  }

  @Test
  void shouldCountARollbackToAKeptVersionAsItsNewestService() {
    ModelHolder holder = new ModelHolder(1);
    LoadedModel one = v(1);
    holder.swap(one);
    holder.swap(v(2));
    holder.swap(holder.get(1).orElseThrow()); // rollback: v1 serves again, v2 is now the previous one
    assertThat(holder.current()).isSameAs(one);
    assertThat(holder.loadedVersions()).containsExactly(1, 2);

    holder.swap(v(3));
    assertThat(holder.loadedVersions()).as("v2 was served before v1's return, so it goes first").containsExactly(1, 3);
  }

  @Test
  void shouldKeepOnlyTheServingVersionByDefault() {
    ModelHolder holder = new ModelHolder();
    holder.swap(v(1));
    holder.swap(v(2));
    assertThat(holder.loadedVersions()).containsExactly(2);
  }
}
