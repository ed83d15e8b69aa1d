"""Labels: every word the chat page and its replies show, in Chinese and in English. A reply is labelled in
its answer's language; the page in Chinese unless QA_LANGUAGE=en (settings.language)."""
from __future__ import annotations

from ..wording import Language

WORDS: dict[str, tuple[str, str]] = {
    # a reply
    "best": ("最佳句子：", "Best sentence: "),
    "best_target": ("最佳句子（预期目标，不是实际完成数）：", "Best sentence (a planned target, not an achieved figure): "),
    "abstained": ("<b>未找到可靠的相关段落。</b>以下是最接近的候选，相关性弱，仅供参考：",
                  "<b>No reliable passage found.</b> The nearest ones follow, weakly related, for reference only:"),
    "type_question": ("请输入问题。", "Please type a question."),
    "weak": ("（弱相关）", " (weakly related)"),
    "copy": ("复制引用", "Copy quote"),
    "copied": ("已复制", "Copied"),
    "why": ("为什么是这段", "Why this passage"),
    "scores": ("关键词得分 {bm25:.2f} · 语义相似度 {dense:.2f} · 综合 {score:.2f}",
               "keyword score {bm25:.2f} · semantic similarity {dense:.2f} · combined {score:.2f}"),
    "context": ("上下文（前后段落）", "Context (the paragraphs before and after)"),
    "none": ("（无）", "(none)"),
    "paragraph": ("第{n}段", "paragraph {n}"),
    "page": ("第{n}页", "page {n}"),
    "header": ("文首署名", "header"),
    "sorry": ("抱歉，{what}时出错了", "Sorry, {what} failed"),
    "goes_on": ("对话没有中断：请重试，或换个问法、去掉筛选条件再问。如果一直出错，请联系管理员（服务器日志里有详细记录）。",
                "The conversation goes on: try again, ask another way, or without the filters. If it keeps failing, "
                "tell the administrator (the server log has the details)."),
    "searching": ("检索这个问题", "searching this question"),
    "filters": ("筛选条件：{filters}（只在符合条件的文件中检索）", "Filters: {filters} (only the matching documents were searched)"),
    "district_is": ("区 {x}", "district {x}"),
    "year_is": ("年份 {x}", "year {x}"),
    "documents_are": ("文件 {x}", "documents {x}"),
    "embedding_now": ("有文件正在向量化（{done}/{total} 个段落）：它们完成前还不能检索，这次的回答只来自已有的文件。",
                      "A document is still being embedded ({done}/{total} passages): it cannot be searched until "
                      "it is done, so this answer comes from the documents already indexed."),
    # the page
    "title": ("改革文件问答 reform-qa", "reform-qa: questions on reform documents"),
    "corpus": ("语料：{documents} 篇文件，{passages} 个段落 · 向量模型：`{model}`",
               "Corpus: {documents} documents, {passages} passages · embedding model: `{model}`"),
    "chat": ("对话", "Conversation"),
    "placeholder": ("输入问题，例如：2019年镇海GDP是多少？", "Type a question, e.g. What was Zhenhai's GDP in 2019?"),
    "ask": ("提问", "Ask"),
    "question": ("问题", "Question"),
    "examples": ("示例问题（点击即问）", "Example questions (click to ask)"),
    "settings": ("筛选与设置", "Filters and settings"),
    "k": ("显示段落数", "Passages shown"),
    "district": ("区", "District"),
    "year": ("年份", "Year"),
    "documents": ("文件", "Documents"),
    "all": ("全部", "All"),
    "library": ("文档管理：上传或删除文件", "Documents: add or delete files"),
    "formats": ("支持 .txt .md（UTF-8/GBK/UTF-16）、.docx、.pdf（需有文字层）、.html；每次最多 {files} 个文件，每个不超过 {mb:g} MB。",
                "Takes .txt .md (UTF-8/GBK/UTF-16), .docx, .pdf (with a text layer) and .html; at most {files} "
                "files at a time, each up to {mb:g} MB."),
    "admin": ("管理员令牌（上传、删除需要；本次会话内保留）", "Admin token (needed to add or delete; kept for this session)"),
    "choose_files": ("选择文件", "Choose files"),
    "new_title": ("标题（可选，默认取自文件）", "Title (optional; taken from the file)"),
    "new_date": ("日期（可选，如 2024-07-30）", "Date (optional, e.g. 2024-07-30)"),
    "new_district": ("区（可选）", "District (optional)"),
    "add": ("添加到语料库", "Add to the corpus"),
    "delete_which": ("删除文件", "Delete a file"),
    "delete": ("删除", "Delete"),
    "confirm_delete": ("确定删除“{name}”吗？原文件和它的段落都会从语料库中删除，无法撤销。",
                       "Delete “{name}”? The file and its passages leave the corpus for good."),
    "right": ("答对了", "Right"),
    "wrong": ("答错了", "Wrong"),
    "not_in_documents": ("应该说“文档中没有”", "Should say “not in the documents”"),
    "wrong_citation": ("引用有误", "Wrong citation"),
    "this_passage": ("这段才是答案", "This passage answers it"),
    "batch": ("批量提问：上传问题清单，下载检查报告", "Batch: upload a list of questions, download the report"),
    "batch_help": ("问题清单：.csv / .xlsx（表头含 question 或 问题，可选 expected 或 期望：答案须包含的文字）或 .txt（每行一个问题）。"
                   "报告含每题的回答、置信度、引用，以及汇总（回答率；有期望时 hit@1、hit@3、MRR@10）。",
                   "A list of questions: .csv / .xlsx (a column question or 问题, optionally expected or 期望: words "
                   "the answer must hold) or .txt (a question a line). The report has each answer, its confidence "
                   "and citations, and totals (answer rate; with expectations hit@1, hit@3, MRR@10)."),
    "question_list": ("问题清单", "Questions"),
    "batch_start": ("开始批量提问", "Run the questions"),
    "report": ("检查报告（.xlsx）", "Report (.xlsx)"),
    "clear": ("开始新对话", "Start a new conversation"),
    "download_md": ("下载对话（Markdown）", "Download the conversation (Markdown)"),
    "download_docx": ("下载对话（Word）", "Download the conversation (Word)"),
    # starting up (the page that answers until the app has loaded, and the terminal)
    "starting": ("正在启动", "Starting"),
    "loading_model": ("正在加载模型、读取索引…", "Loading the model, reading the index…"),
    "loading_gradio": ("正在加载界面组件（gradio）…", "Loading the page's components (gradio)…"),
    "building_page": ("正在准备对话页面…", "Preparing the chat page…"),
    "start_failed": ("启动失败：{why}", "Start-up failed: {why}"),
    "ready": ("已就绪：对话 {url} ，JSON API {url}api/ （文档 /docs）", "Ready: the chat at {url}, the JSON API at {url}api/ (docs at /docs)"),
    "workers": ("，{n} 个检索进程", ", {n} search processes"),
    "waited": ("（已用 {seconds:.0f} 秒）", " ({seconds:.0f} s so far)"),
    "refreshes": ("页面会自动刷新；启动完成后即可提问。", "This page refreshes itself; ask once it has started."),
    # what the page answers back
    "judge_first": ("还没有可评价的回答：先提一个问题。", "No answer to judge yet: ask a question first."),
    "judge_failed": ("未能记录评价：{why}", "The judgement was not recorded: {why}"),
    "judged": ("已记录评价：{said}。谢谢！", "Recorded: {said}. Thank you!"),
    "judged_passage": ("已记录评价：{said}（并标记了这段才是答案）。谢谢！",
                       "Recorded: {said} (and this passage as the answer). Thank you!"),
    "added": ("已添加", "added"), "skipped": ("已跳过", "skipped"), "error": ("错误", "error"),
    "embedding": ("正在向量化 {done}/{total} 个段落（{share:.0%}）{left}。", "Embedding {done} of {total} passages ({share:.0%}){left}."),
    "seconds_left": ("，约 {n:.0f} 秒", ", about {n:.0f} s left"),
    "reading": ("正在读取并切分文件……", "Reading and cutting the files into passages…"),
    "keep_asking": ("期间可以继续提问：仍用现有索引回答，完成后自动换用新索引。",
                    "Meanwhile questions are answered from the current index; the new one takes over when it is done."),
    "upload_done": ("<b>完成</b>：新文件已加入索引（{n} 个新段落已向量化），现在可以检索。",
                    "<b>Done</b>: the new files are in the index ({n} new passages embedded) and can be searched."),
    "upload_failed": ("<b>索引失败</b>：{why}", "<b>Indexing failed</b>: {why}"),
    "token_needed": ("需要管理员令牌：上传和删除文件须先在上方填写管理员令牌（服务器启动时打印了它所在的文件，或由 QA_ADMIN_TOKEN 设置）。",
                     "The admin token is needed: adding and deleting files take the admin token in the box above "
                     "(the server printed the file that holds it at start, or QA_ADMIN_TOKEN sets it)."),
    "token_wrong": ("管理员令牌不正确：请核对服务器启动时打印的令牌文件中的内容。",
                    "The admin token is not right: check it against the token file the server printed at start."),
    "choose_first": ("请先选择文件。", "Choose the files first."),
    "too_many_files": ("一次最多上传 {limit} 个文件（收到 {n} 个），请分批上传。",
                       "At most {limit} files at a time ({n} given): add them in batches."),
    "adding": ("添加文件", "adding the files"),
    "deleting": ("删除文件", "deleting the file"),
    "delete_none": ("请选择要删除的文件。", "Choose the file to delete."),
    "delete_cancelled": ("已取消：没有删除任何文件。", "Cancelled: nothing was deleted."),
    "deleted": ("<b>[已删除]</b> 《{title}》（{id}）及其段落已从语料库中删除。",
                "<b>[Deleted]</b> 《{title}》 ({id}) and its passages left the corpus."),
    "failed": ("<b>[错误]</b> {why}", "<b>[Error]</b> {why}"),
    "list_first": ("请先选择问题清单文件。", "Choose the list of questions first."),
    "list_too_long": ("<b>[错误]</b> 清单有 {n} 个问题，超过上限 {limit}（QA_MAX_BATCH_QUESTIONS）：请拆分，或在服务器上运行 reform-qa batch。",
                      "<b>[Error]</b> The list has {n} questions, over the limit of {limit} (QA_MAX_BATCH_QUESTIONS): "
                      "split it, or run reform-qa batch on the server."),
    "answered": ("已回答 {i}/{n} 个问题。", "{i} of {n} questions answered."),
    "batch_done": ("<b>完成</b>：{totals}。", "<b>Done</b>: {totals}."),
}


def word(key: str, language: Language = "zh", **values) -> str:
    """A label in the language, its {fields} filled from values."""
    return WORDS[key][language == "en"].format(**values)


def page_language(setting: str) -> Language:
    """The page's own language: English when QA_LANGUAGE=en fixes it, else Chinese."""
    return "en" if setting == "en" else "zh"
