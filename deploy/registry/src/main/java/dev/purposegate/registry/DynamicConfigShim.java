package dev.purposegate.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/**
 * Stands in for the bean that Apicurio's config-index Quarkus extension generates at build time:
 * that extension's -deployment artifact is not on Maven Central, so it is excluded, and the
 * registry runs without dynamic (runtime-editable) configuration properties.
 */
@ApplicationScoped
public class DynamicConfigShim {

  @Produces
  @ApplicationScoped
  DynamicConfigPropertyList dynamicConfigProperties() {
    return new DynamicConfigPropertyList(List.of());
  }
}
