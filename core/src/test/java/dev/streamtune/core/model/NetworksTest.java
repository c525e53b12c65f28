package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class NetworksTest {
  @Test
  void shouldHoldTheSameValuesAsNd4jCreateInEveryShape() {
    SplittableRandom rnd = new SplittableRandom(3);
    long[][] shapes = {{7}, {3, 5}, {2, 1, 28, 28}, {4, 3, 2, 5}};
    for (long[] shape : shapes) {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      float[] flat = new float[(int) n];
      for (int i = 0; i < flat.length; i++) {
        flat[i] = (float) rnd.nextDouble(-3, 3);
      }
      INDArray bulk = Networks.floats(flat, shape);
      assertThat(bulk.shape()).containsExactly(shape);
      assertThat(bulk.dataType()).isEqualTo(DataType.FLOAT);
      assertThat(bulk.ordering()).isEqualTo('c');
      assertThat(bulk).isEqualTo(Nd4j.create(flat, shape, 'c'));
      assertThat(bulk.data().asFloat()).containsExactly(flat);
    }
    assertThat(Networks.floats(new float[0], 0, 784).length()).isZero();
  }

  @Test
  void shouldRefuseAShapeThatDoesNotHoldTheValues() {
    assertThatThrownBy(() -> Networks.floats(new float[10], 3, 3)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[3, 3]").hasMessageContaining("9").hasMessageContaining("10");
  }
}
