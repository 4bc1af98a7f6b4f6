// The report form of the public address page (/a/{code}): posts JSON to /api/public/reports.
// No login, no cookies; JSON (not a form post) so another site cannot submit it for the citizen.

const form = document.getElementById("report-form");

function issuesText(problem) {
  const issues = Array.isArray(problem.issues) ? problem.issues : [];
  const parts = issues.map((i) => `${i.field}: ${i.reason}`);
  return parts.length ? parts.join("; ") : problem.detail || problem.title || "";
}

async function submit(event) {
  event.preventDefault();
  const result = document.getElementById("report-result");
  const button = document.getElementById("report-submit");
  const body = {
    code: form.dataset.code,
    kind: document.getElementById("report-kind").value,
    description: document.getElementById("report-description").value.trim(),
  };
  const phone = document.getElementById("report-phone").value.trim();
  if (phone) body.phone = phone;
  result.className = "";
  result.textContent = "正在提交… Sending…";
  button.disabled = true;
  try {
    const resp = await fetch("/api/public/reports", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
    const data = await resp.json().catch(() => ({}));
    if (resp.ok) {
      result.className = "ok";
      result.textContent = `已收到，上报编号 ${data.reference}。谢谢！ Received, reference ${data.reference}. Thank you!`;
      result.dataset.reference = data.reference;
      form.reset();
    } else if (resp.status === 429) {
      result.className = "fail";
      result.textContent = `提交过于频繁，请稍后再试。 Too many reports, please try later. ${data.detail || ""}`;
    } else {
      result.className = "fail";
      result.textContent = `提交失败 Not sent: ${issuesText(data)}`;
    }
  } catch {
    result.className = "fail";
    result.textContent = "无法连接服务器 Cannot reach the server";
  } finally {
    button.disabled = false;
  }
}

if (form) form.addEventListener("submit", submit);
