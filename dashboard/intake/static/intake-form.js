/* onenet QR intake: what the phone forms share (the reopening form, intake.js; a collection's, collection.js):
 * the submission id made on the phone and kept until a receipt comes, a field's message, the summary of problems,
 * and the submit with the server's answer (the receipt, 409 for an id used before with other content, errors). */
(function () {
  "use strict";

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(b); }
    else { for (var i = 0; i < 16; i++) { b[i] = Math.floor(Math.random() * 256); } }
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* the form's submission_id, kept in sessionStorage under its data-sid-key: a reload or a retry after a lost
   * answer posts the same id, so the server stores the submission once */
  function submissionId(form) {
    var input = form.querySelector("[name=submission_id]"), key = form.getAttribute("data-sid-key");
    function store(value) { try { if (value === null) { sessionStorage.removeItem(key); } else { sessionStorage.setItem(key, value); } } catch (e) { /* private mode */ } }
    function fresh() { input.value = newId(); store(input.value); }
    try { input.value = sessionStorage.getItem(key) || ""; } catch (e) { input.value = ""; }
    if (!input.value) { fresh(); }
    return { fresh: fresh, forget: function () { store(null); } };
  }

  function fetchJson(url, options) {
    return fetch(url, options).then(function (resp) {
      return resp.json().catch(function () { return { ok: false, errors: [{ message: "服务器返回异常（" + resp.status + "）：请稍后再试" }] }; })
        .then(function (data) { return { status: resp.status, data: data }; });
    });
  }

  function setMsg(box, el, msg) {
    var span = box.querySelector(".msg");
    if (msg) {
      if (!span) { span = document.createElement("span"); span.className = "msg"; box.appendChild(span); }
      span.textContent = msg; box.classList.add("invalid"); el.setAttribute("aria-invalid", "true");
    } else {
      if (span) { span.parentNode.removeChild(span); }
      box.classList.remove("invalid"); el.removeAttribute("aria-invalid");
    }
    return msg;
  }

  function showErrors(box, messages) {
    if (!messages.length) { box.hidden = true; box.textContent = ""; return; }
    var ul = document.createElement("ul");
    messages.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; ul.appendChild(li); });
    box.textContent = "";
    var p = document.createElement("strong"); p.textContent = "请先修改以下问题："; box.appendChild(p);
    box.appendChild(ul); box.hidden = false;
  }

  /* posts the form checked on the phone; on a receipt opens it, else marks the fields the server names
   * (markFields(errors)) and lists every error */
  function send(form, sid, markFields) {
    var errorsBox = document.getElementById("form-errors"), submitBtn = document.getElementById("submit-btn");
    var statusLine = document.getElementById("submit-status");
    showErrors(errorsBox, []);
    submitBtn.disabled = true; statusLine.textContent = "正在提交…";
    fetchJson(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
                             headers: { "Accept": "application/json" } })
      .then(function (res) {
        var data = res.data || {};
        if (data.ok) {
          statusLine.textContent = "提交成功，正在打开回执…";
          sid.forget();
          window.location.assign(data.receipt_url);
          return;
        }
        var errors = data.errors || [{ message: "提交失败（" + res.status + "）" }];
        if (res.status === 409) {
          sid.fresh();
          errors = [{ message: "这份表单之前已提交过（可能网络中断没有显示回执）。已为本次修改生成新的提交编号，请核对内容后再次点击“提交”。" }];
        }
        markFields(errors);
        showErrors(errorsBox, errors.map(function (e) { return e.message; }));
        errorsBox.scrollIntoView({ block: "start", behavior: "smooth" });
        statusLine.textContent = "";
        submitBtn.disabled = false;
      })
      .catch(function () {
        statusLine.textContent = "网络异常，未能确认是否提交成功：请检查网络后再次点击“提交”（不会重复登记）";
        submitBtn.disabled = false;
      });
  }

  window.OnenetForm = { submissionId: submissionId, fetchJson: fetchJson, setMsg: setMsg, showErrors: showErrors,
                        send: send };
})();
