// Every UI string of the portal, Chinese first. Class names and attribute labels come from /api/classes.

const STRINGS = {
  zh: {
    title: "城市数字公共基础设施基础平台",
    subtitle: "襄阳市",
    lang_toggle: "EN",
    lang_toggle_label: "Switch to English",
    layers: "图层",
    layers_toggle: "显示或隐藏图层面板",
    group_boundaries: "行政区划",
    group_base: "基础地物",
    group_facilities: "部件设施",
    extrusion: "三维建筑",
    zoom_hint: "放大后显示",
    truncated: "仅显示前 {n} 个",
    truncated_help: "此范围内对象超过 {n} 个，仅显示前 {n} 个；放大地图可看到全部",
    search: "搜索",
    search_label: "按名称搜索对象",
    search_placeholder: "搜索名称，如 建筑、道路…",
    searching: "正在搜索…",
    no_results: "没有找到匹配的对象",
    login: "登录",
    logout: "退出",
    login_title: "登录平台",
    username: "用户名",
    password: "密码",
    cancel: "取消",
    close: "关闭",
    card_title: "对象详情",
    class: "类别",
    name: "名称",
    code: "统一识别代码",
    no_code: "未赋码",
    state: "状态",
    department: "权威来源部门",
    version: "版本",
    updated_at: "更新时间",
    attributes: "属性",
    no_attributes: "无属性",
    history: "历史版本",
    hide_history: "收起历史版本",
    change_create: "创建",
    change_update: "修改",
    change_retire: "注销",
    state_active: "现行",
    state_planned: "规划",
    state_retired: "已注销",
    loading: "加载中…",
    error: "出错了",
    error_network: "无法连接服务器",
    error_400: "请求有误",
    error_401: "需要登录",
    error_403: "没有权限",
    error_404: "未找到",
    error_409: "数据冲突",
    error_500: "服务器内部错误",
    error_503: "服务暂不可用",
    dismiss: "知道了",
    yes: "是",
    no: "否",
    objects_count: "{n} 个",
    map_label: "城市地图",
    jobs: "任务",
    no_jobs: "暂无任务",
    job_progress: "任务进度",
    job_errors: "{n} 条问题",
    job_state_queued: "排队中",
    job_state_running: "运行中",
    job_state_succeeded: "已完成",
    job_state_failed: "失败",
    job_state_cancelled: "已取消",
    "job_kind_objects.import_geojson": "导入对象",

    attribution: "数据：城市数字公共基础设施基础平台",
  },
  en: {
    title: "City Digital Public Infrastructure Platform",
    subtitle: "Xiangyang",
    lang_toggle: "中文",
    lang_toggle_label: "切换到中文",
    layers: "Layers",
    layers_toggle: "Show or hide the layer panel",
    group_boundaries: "Boundaries",
    group_base: "Base features",
    group_facilities: "Facilities",
    extrusion: "3D buildings",
    zoom_hint: "zoom in",
    truncated: "first {n} only",
    truncated_help: "More than {n} objects here; only the first {n} are drawn. Zoom in to see all.",
    search: "Search",
    search_label: "Search objects by name",
    search_placeholder: "Search by name…",
    searching: "Searching…",
    no_results: "No matching objects",
    login: "Log in",
    logout: "Log out",
    login_title: "Log in to the platform",
    username: "Username",
    password: "Password",
    cancel: "Cancel",
    close: "Close",
    card_title: "Object details",
    class: "Class",
    name: "Name",
    code: "Unified code",
    no_code: "not yet coded",
    state: "State",
    department: "Source department",
    version: "Version",
    updated_at: "Updated",
    attributes: "Attributes",
    no_attributes: "No attributes",
    history: "History",
    hide_history: "Hide history",
    change_create: "created",
    change_update: "changed",
    change_retire: "retired",
    state_active: "active",
    state_planned: "planned",
    state_retired: "retired",
    loading: "Loading…",
    error: "Something went wrong",
    error_network: "Cannot reach the server",
    error_400: "Invalid request",
    error_401: "Login required",
    error_403: "Not allowed",
    error_404: "Not found",
    error_409: "Conflict",
    error_500: "Server error",
    error_503: "Service unavailable",
    dismiss: "OK",
    yes: "yes",
    no: "no",
    objects_count: "{n}",
    map_label: "City map",
    jobs: "Jobs",
    no_jobs: "No jobs yet",
    job_progress: "Job progress",
    job_errors: "{n} problem(s)",
    job_state_queued: "queued",
    job_state_running: "running",
    job_state_succeeded: "done",
    job_state_failed: "failed",
    job_state_cancelled: "cancelled",
    "job_kind_objects.import_geojson": "object import",

    attribution: "Data: citybase",
  },
};

const KEY = "citybase.lang";
let lang = STRINGS[localStorage.getItem(KEY)] ? localStorage.getItem(KEY) : "zh";

export function getLang() {
  return lang;
}

/** The string for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Translate a value that has a key with a prefix (state_active, change_update), else show it as is. */
export function tValue(prefix, value) {
  const key = `${prefix}_${value}`;
  return STRINGS[lang][key] ? t(key) : String(value ?? "");
}

/** The name of a class from /api/classes in the current language. */
export function className(cls) {
  if (!cls) return "";
  return lang === "en" ? cls.name_en || cls.name : cls.name;
}

/** Fill every element marked with data-i18n (text) or data-i18n-<attr> (an attribute). */
export function applyStatic(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const attr of ["placeholder", "aria-label", "title"]) {
    const data = `i18n${attr.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.dataset[data]));
  }
}

/** Switch language, remember it, and tell the page (listeners re-render dynamic parts). */
export function setLang(next) {
  lang = STRINGS[next] ? next : "zh";
  localStorage.setItem(KEY, lang);
  applyStatic();
  document.dispatchEvent(new CustomEvent("citybase:lang", { detail: lang }));
}
