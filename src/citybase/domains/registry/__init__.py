"""三实 registries: actual houses (实有房屋), population (实有人口) and organisations (实有单位)."""
