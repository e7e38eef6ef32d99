"""Receiver judgement on calls as real projects write them: kind and confidence.

Each row is a public call site, trimmed to the lines that tell (the judged call is the snippet's
last `load_state_dict`), with what a person porting the code would say it is. "sure" model calls
are the ones fix-all rewrites; "unsure" ones keep their diagnostic and their own quick fix.
"""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine import scan
from switcheroo_lsp.engine.model import Confidence, Finding, ReceiverKind

SURE, UNSURE = Confidence.SURE, Confidence.UNSURE
MODEL = ReceiverKind.MODEL
OPTIMIZER, SCHEDULER, SCALER = ReceiverKind.OPTIMIZER, ReceiverKind.SCHEDULER, ReceiverKind.SCALER
DATA, EMA, TRAINER = ReceiverKind.DATA, ReceiverKind.EMA, ReceiverKind.TRAINER
MODULE_FUNCTION, OTHER = ReceiverKind.MODULE_FUNCTION, ReceiverKind.OTHER

# (id, where it is seen, snippet, kind, confidence)
REAL_CALLS: list[tuple[str, str, str, ReceiverKind, Confidence]] = [
    # -- ultralytics/yolov5 train.py ---------------------------------------------------------
    (
        "yolov5_optimizer",
        "ultralytics/yolov5",
        "if ckpt['optimizer'] is not None:\n    optimizer.load_state_dict(ckpt['optimizer'])\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "yolov5_ema_copy",
        "ultralytics/yolov5",
        "ema = ModelEMA(model) if RANK in {-1, 0} else None\n"
        "if ema and ckpt.get('ema'):\n"
        "    ema.ema.load_state_dict(ckpt['ema'].float().state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "yolov5_transfer",
        "ultralytics/yolov5",
        "csd = intersect_dicts(csd, model.state_dict(), exclude=exclude)\n"
        "model.load_state_dict(csd, strict=False)\n",
        MODEL,
        SURE,
    ),
    (
        "yolo_trainer_ema_copy",
        "public yolo trainer",
        "if hasattr(self, 'ema'):\n    self.ema.ema.load_state_dict(new_state_dict, strict=False)\n",
        MODEL,
        SURE,
    ),
    (
        "model_ema_dot_ema",
        "public OCR trainer",
        "checkpoint = torch.load(checkpoint_path, map_location=device)\n"
        "model_ema.ema.load_state_dict(checkpoint['state_dict_ema'])\n",
        MODEL,
        SURE,
    ),
    # -- open-mmlab/mmengine -------------------------------------------------------------------
    (
        "mmengine_message_hub",
        "open-mmlab/mmengine",
        "class Runner:\n    def resume(self, checkpoint):\n"
        "        self.message_hub.load_state_dict(checkpoint['message_hub'])\n",
        TRAINER,
        SURE,
    ),
    (
        "mmengine_message_hub_instance",
        "open-mmlab/mmengine tests",
        "message_hub = MessageHub.get_instance('test_ckpt')\n"
        "message_hub.load_state_dict(ckpt['message_hub'])\n",
        TRAINER,
        SURE,
    ),
    (
        "mmengine_optim_wrapper",
        "open-mmlab/mmengine",
        "self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)\n"
        "self.optim_wrapper.load_state_dict(checkpoint['optimizer'])\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "mmengine_param_schedulers",
        "open-mmlab/mmengine",
        "for cur_scheduler, ckpt_scheduler in zip(self.param_schedulers, checkpoint['param_schedulers']):\n"
        "    cur_scheduler.load_state_dict(ckpt_scheduler)\n",
        SCHEDULER,
        SURE,
    ),
    # -- facebookresearch/fairseq --------------------------------------------------------------
    (
        "fairseq_setup_task",
        "facebookresearch/fairseq examples/data2vec",
        "state = load_checkpoint_to_cpu(ckpt_path)\n"
        "task = tasks.setup_task(cfg.task, from_checkpoint=True)\n"
        'task.load_state_dict(state["task_state"])\n',
        TRAINER,
        SURE,
    ),
    (
        "fairseq_build_task",
        "public fairseq-style finetuner",
        'task = build_task(config)\ntask.load_state_dict(checkpoint.get("task_state", {}))\n',
        TRAINER,
        SURE,
    ),
    (
        "fairseq_ensemble_model",
        "facebookresearch/fairseq checkpoint_utils",
        "model = task.build_model(cfg.model)\n"
        'model.load_state_dict(state["model"], strict=strict, model_cfg=cfg.model)\n',
        MODEL,
        SURE,
    ),
    (
        "fairseq_trainer_model",
        "facebookresearch/fairseq trainer",
        "class Trainer(object):\n    def load_checkpoint(self, state):\n"
        '        self.model.load_state_dict(state["model"], strict=True, model_cfg=self.cfg.model)\n',
        MODEL,
        SURE,
    ),
    (
        "fairseq_trainer_optimizer",
        "facebookresearch/fairseq trainer",
        "self.optimizer.load_state_dict(last_optim_state, optimizer_overrides)\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "fairseq_trainer_lr_scheduler",
        "facebookresearch/fairseq trainer",
        'self.lr_scheduler.load_state_dict(last_optim["lr_scheduler_state"])\n',
        SCHEDULER,
        SURE,
    ),
    (
        "fairseq_metrics_module",
        "facebookresearch/fairseq trainer",
        "from fairseq.logging import meters, metrics\n"
        'metrics.load_state_dict(extra_state["metrics"])\n',
        MODULE_FUNCTION,
        SURE,
    ),
    (
        "fairseq_criterion",
        "facebookresearch/fairseq trainer",
        'self.get_criterion().load_state_dict(state["criterion"], strict=True)\n',
        MODEL,
        UNSURE,
    ),
    (
        "fairseq_bart_hub",
        "huggingface/transformers convert_bart",
        "sd = torch.load(checkpoint_path, map_location='cpu')\n"
        "hub_interface = torch.hub.load('pytorch/fairseq', 'bart.large.cnn').eval()\n"
        "hub_interface.model.load_state_dict(sd['model'])\n",
        MODEL,
        SURE,
    ),
    # -- Lightning-AI/pytorch-lightning --------------------------------------------------------
    (
        "lightning_progress_total",
        "Lightning-AI/pytorch-lightning loops/progress.py",
        "@dataclass\nclass _Progress(_BaseProgress):\n"
        "    total: _ReadyCompletedTracker = field(default_factory=_ReadyCompletedTracker)\n"
        "    current: _ReadyCompletedTracker = field(default_factory=_ReadyCompletedTracker)\n\n"
        "    def load_state_dict(self, state_dict: dict) -> None:\n"
        '        self.total.load_state_dict(state_dict["total"])\n',
        TRAINER,
        SURE,
    ),
    (
        "lightning_progress_current_init",
        "Lightning-AI/pytorch-lightning (older progress.py)",
        "class _SchedulerProgress:\n    def __init__(self) -> None:\n"
        "        self.total = _ReadyCompletedTracker()\n"
        "        self.current = _ReadyCompletedTracker()\n\n"
        "    def load_state_dict(self, state):\n"
        '        self.current.load_state_dict(state.get("current", {}))\n',
        TRAINER,
        SURE,
    ),
    (
        "lightning_loop_progress_child",
        "Lightning-AI/pytorch-lightning loops/loop.py",
        "class _Loop:\n    def load_state_dict(self, state_dict, prefix=''):\n"
        "        for k, v in self.__dict__.items():\n"
        "            key = prefix + k\n"
        "            if isinstance(v, _BaseProgress):\n"
        "                v.load_state_dict(state_dict[key])\n",
        TRAINER,
        SURE,
    ),
    (
        "lightning_loop_child_loop",
        "Lightning-AI/pytorch-lightning loops/loop.py",
        "class _Loop:\n    def load_state_dict(self, state_dict, prefix=''):\n"
        "        for k, v in self.__dict__.items():\n"
        "            if isinstance(v, _BaseProgress):\n"
        "                pass\n"
        "            elif isinstance(v, _Loop):\n"
        '                v.load_state_dict(state_dict, prefix + k + ".")\n',
        TRAINER,
        SURE,
    ),
    (
        "lightning_fit_loop",
        "Lightning-AI/pytorch-lightning checkpoint_connector",
        'self.trainer.fit_loop.load_state_dict(state_dict["fit_loop"])\n',
        TRAINER,
        SURE,
    ),
    (
        "lightning_optimizers_zip",
        "Lightning-AI/pytorch-lightning checkpoint_connector",
        "for optimizer, opt_state in zip(self.trainer.strategy.optimizers, optimizer_states):\n"
        "    optimizer.load_state_dict(opt_state)\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "lightning_scheduler_configs",
        "Lightning-AI/pytorch-lightning checkpoint_connector",
        "for config, lrs_state in zip(self.trainer.lr_scheduler_configs, lr_schedulers):\n"
        "    config.scheduler.load_state_dict(lrs_state)\n",
        SCHEDULER,
        SURE,
    ),
    (
        "lightning_callbacks",
        "Lightning-AI/pytorch-lightning trainer/call.py",
        "for callback in trainer.callbacks:\n"
        "    state = callback_states.get(callback.state_key)\n"
        "    if state:\n        callback.load_state_dict(state)\n",
        TRAINER,
        SURE,
    ),
    (
        "lightning_precision_plugin",
        "Lightning-AI/pytorch-lightning checkpoint_connector",
        "self.trainer.precision_plugin.load_state_dict(checkpoint[prec_plugin.__class__.__qualname__])\n",
        TRAINER,
        SURE,
    ),
    (
        "lightning_module",
        "Lightning-AI/pytorch-lightning strategies",
        'self.lightning_module.load_state_dict(checkpoint["state_dict"], strict=strict)\n',
        MODEL,
        SURE,
    ),
    (
        "lightning_datamodule",
        "Lightning-AI/pytorch-lightning checkpoint_connector",
        "datamodule.load_state_dict(checkpoint[datamodule.__class__.__qualname__])\n",
        DATA,
        SURE,
    ),
    (
        "lightning_ema_callback",
        "public Lightning sampler script",
        'ema_callback = EMA()\nema_callback.load_state_dict(state_dict["callbacks"]["EMA"])\n',
        EMA,
        SURE,
    ),
    (
        "lightning_network_state_dict",
        "public Lightning sampler script",
        'state_dict = torch.load(os.path.join(model_checkpoint.dirpath, "last.ckpt"))\n'
        'incompatible_keys = network.load_state_dict(state_dict["state_dict"])\n',
        MODEL,
        SURE,
    ),
    # -- mosaicml/composer ---------------------------------------------------------------------
    (
        "composer_callbacks",
        "mosaicml/composer",
        "for callback in state.callbacks:\n"
        "    fqn = type(callback).__qualname__\n"
        "    callback.load_state_dict(dict(resumption_state_dict['callbacks'])[fqn])\n",
        TRAINER,
        SURE,
    ),
    (
        "composer_algorithms",
        "mosaicml/composer",
        "for algorithm in state.algorithms:\n"
        "    fqn = type(algorithm).__qualname__\n"
        "    algorithm.load_state_dict(dict(resumption_state_dict['algorithms'])[fqn])\n",
        TRAINER,
        SURE,
    ),
    (
        "composer_scaler",
        "mosaicml/composer",
        "state.scaler.load_state_dict(resumption_state_dict['scaler'][fqn])\n",
        SCALER,
        SURE,
    ),
    # -- huggingface/pytorch-image-models (timm) and timm users ----------------------------------
    (
        "timm_model_ema_module",
        "public timm training script",
        "model_ema = ModelEmaV2(model, decay=EMA_DECAY, device=device)\n"
        "ema_ckpt = torch.load(ema_checkpoint_path, map_location='cpu')\n"
        "model_ema.module.load_state_dict(ema_ckpt['state_dict'])\n",
        MODEL,
        SURE,
    ),
    (
        "timm_self_model_ema_module",
        "public timm-based trainer",
        "if 'model_ema_state_dict' in checkpoint:\n"
        "    self.model_ema.module.load_state_dict(checkpoint['model_ema_state_dict'])\n",
        MODEL,
        SURE,
    ),
    (
        "timm_loss_scaler",
        "huggingface/pytorch-image-models",
        "if loss_scaler is not None and loss_scaler.state_dict_key in checkpoint:\n"
        "    loss_scaler.load_state_dict(checkpoint[loss_scaler.state_dict_key])\n",
        SCALER,
        SURE,
    ),
    (
        "timm_load_checkpoint",
        "huggingface/pytorch-image-models",
        "def load_checkpoint(model, checkpoint_path, use_ema=True, strict=True):\n"
        "    state_dict = load_state_dict(checkpoint_path, use_ema)\n"
        "    incompatible_keys = model.load_state_dict(state_dict, strict=strict)\n",
        MODEL,
        SURE,
    ),
    (
        "timm_compiled_orig_mod",
        "public timm training script",
        "model_ema.module._orig_mod.load_state_dict(training_states.ema_model_state)\n",
        MODEL,
        SURE,
    ),
    # -- huggingface/diffusers examples and conversion scripts ---------------------------------
    (
        "diffusers_ema_unet_helper",
        "huggingface/diffusers examples",
        "ema_unet = EMAModel(unet.parameters(), model_cls=UNet2DConditionModel, model_config=unet.config)\n"
        "def load_model_hook(models, input_dir):\n"
        '    load_model = EMAModel.from_pretrained(os.path.join(input_dir, "unet_ema"), UNet2DConditionModel)\n'
        "    ema_unet.load_state_dict(load_model.state_dict())\n",
        EMA,
        SURE,
    ),
    (
        "diffusers_ema_model_helper",
        "huggingface/diffusers examples/unconditional_image_generation",
        "ema_model = EMAModel(model.parameters(), decay=args.ema_max_decay, use_ema_warmup=True)\n"
        "def load_model_hook(models, input_dir):\n"
        "    load_model = EMAModel.from_pretrained(os.path.join(input_dir, 'unet_ema'), UNet2DModel)\n"
        "    ema_model.load_state_dict(load_model.state_dict())\n",
        EMA,
        SURE,
    ),
    (
        "diffusers_hook_model_pop",
        "huggingface/diffusers examples",
        "def load_model_hook(models, input_dir):\n"
        "    for i in range(len(models)):\n"
        "        model = models.pop()\n"
        "        load_model = UNet2DModel.from_pretrained(input_dir, subfolder='unet')\n"
        "        model.load_state_dict(load_model.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_teacher_unet",
        "huggingface/diffusers examples/consistency_training",
        "load_model = UNet2DModel.from_pretrained(os.path.join(input_dir, 'unet_teacher'))\n"
        "teacher_unet.load_state_dict(load_model.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_controlnet_from_unet",
        "huggingface/diffusers ControlNetModel.from_unet",
        "controlnet = cls(conditioning_channels=conditioning_channels)\n"
        "controlnet.conv_in.load_state_dict(unet.conv_in.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_convert_vae",
        "huggingface/diffusers scripts",
        "converted_vae_checkpoint = convert_ldm_vae_checkpoint(checkpoint, vae_config)\n"
        "vae = AutoencoderKL(**vae_config)\n"
        "vae.load_state_dict(converted_vae_checkpoint)\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_convert_vocoder",
        "huggingface/diffusers scripts/convert_original_audioldm_to_diffusers",
        "vocoder = SpeechT5HifiGan(vocoder_config)\n"
        "vocoder.load_state_dict(converted_vocoder_checkpoint)\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_convert_unet",
        "huggingface/diffusers scripts",
        "unet = UNet2DConditionModel(**unet_config)\n"
        "unet.load_state_dict(converted_unet_checkpoint, strict=False)\n",
        MODEL,
        SURE,
    ),
    (
        "diffusers_text_model",
        "huggingface/diffusers scripts",
        "text_model = CLIPTextModel(config)\ntext_model.load_state_dict(text_model_dict)\n",
        MODEL,
        SURE,
    ),
    # -- fadel/pytorch_ema users and other EMA code ----------------------------------------------
    (
        "torch_ema_helper",
        "public score-model script (torch_ema)",
        "if args.ema:\n"
        "    ema = ExponentialMovingAverage(score.parameters(), decay=0.999)\n"
        "    ema.load_state_dict(torch.load(args.load_path))\n",
        EMA,
        SURE,
    ),
    (
        "torch_ema_score_model",
        "public score-model script (torch_ema)",
        "score = get_standard_score(config=config, sde=sde, use_ema=args.ema)\n"
        "score.load_state_dict(torch.load(args.load_path))\n",
        MODEL,
        UNSURE,
    ),
    (
        "ema_deepcopy_local",
        "public diffusion trainer",
        "ema = deepcopy(model.cpu())\nema.load_state_dict(cpu_state)\n",
        MODEL,
        SURE,
    ),
    (
        "ema_deepcopy_self",
        "public EMA wrapper",
        "class ModelEMA:\n    def __init__(self, model):\n"
        "        self.ema = copy.deepcopy(model).eval()\n"
        "    def load_state_dict(self, state):\n"
        '        self.ema.load_state_dict(state["ema"])\n',
        MODEL,
        SURE,
    ),
    (
        "ema_shadow",
        "public EMA wrapper",
        "ema.shadow.load_state_dict(checkpoint['ema'])\n",
        MODEL,
        SURE,
    ),
    # -- NVIDIA/apex users -------------------------------------------------------------------------
    (
        "apex_amp",
        "public apex trainer",
        "from apex import amp\namp.load_state_dict(checkpoint['amp'])\n",
        MODULE_FUNCTION,
        SURE,
    ),
    (
        "apex_amp_optional_import",
        "public apex trainer",
        "try:\n    from apex import amp\nexcept ImportError:\n    amp = None\n"
        "def resume(checkpoint):\n    amp.load_state_dict(checkpoint['amp'])\n",
        MODULE_FUNCTION,
        SURE,
    ),
    # -- reinforcement learning --------------------------------------------------------------------
    (
        "dqn_target_sync",
        "public DQN (Atari)",
        "policy_net = DQN(input_dim, action_space)\n"
        "target_net = DQN(input_dim, action_space)\n"
        "target_net.load_state_dict(policy_net.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "dqn_agent_target_sync",
        "public DQN trader",
        "agent.target_net.load_state_dict(agent.policy_net.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "dqn_eval_net_sync",
        "public DQN tutorial",
        "if self.learn_step_counter % TARGET_REPLACE_ITER == 0:\n"
        "    self.target_net.load_state_dict(self.eval_net.state_dict())\n",
        MODEL,
        SURE,
    ),
    (
        "dqn_soft_update",
        "public DQN (lunar lander)",
        "target_net_state_dict = self.target_net.state_dict()\n"
        "self.target_net.load_state_dict(target_net_state_dict)\n",
        MODEL,
        SURE,
    ),
    (
        "dqn_policy_from_file",
        "public DQN (lunar lander)",
        "self.policy_net.load_state_dict(torch.load('Ex2/Lunar_params.pth', weights_only=True))\n",
        MODEL,
        SURE,
    ),
    (
        "rl_actor_optimizer",
        "public PPO agent",
        'self.actor_optimizer.load_state_dict(state_dict["actor_optimizer"])\n',
        OPTIMIZER,
        SURE,
    ),
    (
        "rl_reward_meter",
        "public PPO agent",
        'self.episode_reward_meter.load_state_dict(state_dict["episode_reward_meter"])\n',
        TRAINER,
        SURE,
    ),
    (
        "rl_q_network",
        "public double DQN",
        "self.q_net = QNetwork(state_dim, action_dim)\n"
        "self.target_net = QNetwork(state_dim, action_dim)\n"
        "self.target_net.load_state_dict(self.q_net.state_dict())\n",
        MODEL,
        SURE,
    ),
    # -- ByteDance-Seed/VeOmni trainer --------------------------------------------------------------
    (
        "veomni_lr_scheduler",
        "ByteDance-Seed/VeOmni",
        'lr_scheduler.load_state_dict(state["extra_state"]["lr_scheduler"])\n',
        SCHEDULER,
        SURE,
    ),
    (
        "veomni_dataloader",
        "ByteDance-Seed/VeOmni",
        'train_dataloader.load_state_dict(state["extra_state"]["train_dataloader"])\n',
        DATA,
        SURE,
    ),
    (
        "veomni_environ_meter",
        "ByteDance-Seed/VeOmni",
        'environ_meter.load_state_dict(state["extra_state"]["environ_meter"])\n',
        TRAINER,
        SURE,
    ),
    (
        "veomni_channel_loss_callback",
        "ByteDance-Seed/VeOmni",
        'channel_loss_callback = getattr(self.trainer, "channel_loss_callback", None)\n'
        "channel_loss_callback.load_state_dict(channel_loss_state)\n",
        TRAINER,
        SURE,
    ),
    # -- assorted research code (names as written in the wild) ------------------------------------
    (
        "self_supervised_encoder",
        "public graph SSL trainer",
        'self.online_encoder.load_state_dict(ckpt["online_encoder"])\n',
        MODEL,
        SURE,
    ),
    (
        "self_supervised_predictor",
        "public graph SSL trainer",
        'self.predictor.load_state_dict(ckpt["predictor"])\n',
        MODEL,
        SURE,
    ),
    (
        "submodule_gru",
        "public graph SSL trainer",
        'self.tgn.gru.load_state_dict(ckpt["tgn_gru"])\n',
        MODEL,
        SURE,
    ),
    (
        "multi_task_model",
        "public graph SSL trainer",
        'self.multi_task.load_state_dict(ckpt["multi_task"])\n',
        MODEL,
        UNSURE,
    ),
    (
        "task_model_from_pth",
        "public video retrieval script",
        'smtask.load_state_dict(torch.load(os.path.join(opt.model_dir, "sm_valid.pth")))\n',
        MODEL,
        SURE,
    ),
    (
        "caption_encoder_from_pth",
        "public video retrieval script",
        "cap_enc = capenc(opt, cap_te)\ncap_enc.load_state_dict(torch.load('./data/capenc.pth'))\n",
        MODEL,
        SURE,
    ),
    (
        "domain_adaptation_extractor",
        "public domain adaptation trainer",
        "ckpt = torch.load(ckpt)\n"
        "self.feature_extractor.load_state_dict(ckpt['feature_extractor_state'])\n",
        MODEL,
        SURE,
    ),
    (
        "domain_adaptation_classifier",
        "public domain adaptation trainer",
        "self.task_classifier.load_state_dict(ckpt['task_classifier_state'])\n",
        MODEL,
        SURE,
    ),
    (
        "domain_adaptation_optimizer_task",
        "public domain adaptation trainer",
        "self.optimizer_task.load_state_dict(ckpt['optimizer_task_state'])\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "domain_adaptation_scheduler_task",
        "public domain adaptation trainer",
        "self.scheduler_task.load_state_dict(ckpt['scheduler_task_state'])\n",
        SCHEDULER,
        SURE,
    ),
    (
        "best_weights_copy",
        "public GNN benchmark",
        "best_w = copy.deepcopy(newtask.state_dict())\nnewtask.load_state_dict(best_w)\n",
        MODEL,
        UNSURE,
    ),
    (
        "torchdrug_task_model_file",
        "public torchdrug script",
        "task.load_state_dict(torch.load(model_save_name))\n",
        MODEL,
        SURE,
    ),
    (
        "torchdrug_pipeline_task",
        "public torchdrug pipeline",
        "load_path = get_data_path(path)\n"
        "pipeline.task.load_state_dict(torch.load(load_path), strict=False)\n",
        MODEL,
        UNSURE,
    ),
    (
        "annotated_task_model_state",
        "public contrastive trainer",
        "def load_weights(checkpoint_id: str, task: SupConDECTask):\n"
        '    ckpt = torch.load(p, map_location="cpu")\n'
        '    task.load_state_dict(ckpt["model_state"])\n',
        MODEL,
        SURE,
    ),
    (
        "model_key_uppercase",
        "public diffusion SSL trainer",
        "checkpoint = torch.load(target, map_location=device)\n"
        "soda.load_state_dict(checkpoint['MODEL'])\n",
        MODEL,
        SURE,
    ),
    (
        "single_letter_model_key",
        "public ODE trainer",
        'self.F.load_state_dict(checkpoint["model"])\n',
        MODEL,
        SURE,
    ),
    (
        "projection_checkpoint_key",
        "public RL world model",
        "def load(self, checkpoint):\n"
        '    self.obs_projection.load_state_dict(checkpoint["projection_state_dict"])\n',
        MODEL,
        SURE,
    ),
    (
        "unknown_short_name",
        "public image trainer",
        'raw.load_state_dict(adapt_state_dict(st["net"], raw.state_dict().keys()))\n',
        MODEL,
        UNSURE,
    ),
    (
        "short_optimizer",
        "public image trainer",
        'opt.load_state_dict(st["opt"])\n',
        OPTIMIZER,
        SURE,
    ),
    (
        "short_scheduler",
        "public image trainer",
        'sched.load_state_dict(st["sched"])\n',
        SCHEDULER,
        SURE,
    ),
    (
        "trainer_itself",
        "public deepclustering2 loader",
        "class CheckpointLoader:\n    def load_checkpoint(self, state_dict):\n"
        "        self.trainer.load_state_dict(state_dict)\n",
        TRAINER,
        SURE,
    ),
    (
        "optimizer_list_item",
        "CorcovadoMing/Researchlib",
        "optimizer[0].load_state_dict(checkpoint['optimizer_weight'])\n",
        OPTIMIZER,
        SURE,
    ),
    (
        "researchlib_model",
        "CorcovadoMing/Researchlib",
        "checkpoint = torch.load(path)\nmodel.load_state_dict(checkpoint['model'])\n",
        MODEL,
        SURE,
    ),
    (
        "zip_callbacks",
        "public accelerate trainer",
        'for callback, state in zip(callbacks, initial_state["callbacks"]):\n'
        "    callback.load_state_dict(state)\n",
        TRAINER,
        SURE,
    ),
    (
        "evaluator",
        "public trainer",
        'self.train_evaluator.load_state_dict(state_dict["train_evaluator"])\n',
        TRAINER,
        SURE,
    ),
    (
        "aggregated_meter",
        "public meters module",
        "wholeMeter = cls(names=submeter_names, listAggregatedMeter=list(Meters.values()))\n"
        "wholeMeter.load_state_dict(checkpoint)\n",
        TRAINER,
        SURE,
    ),
    (
        "data_parallel_branch",
        "public classification trainer",
        "if isinstance(model, torch.nn.DataParallel):\n"
        '    model.module.load_state_dict(checkpoint["model"])\n',
        MODEL,
        SURE,
    ),
    (
        "not_a_module_branch",
        "public generic checkpoint helper",
        "def restore(obj, sd):\n    if isinstance(obj, nn.Module):\n        obj.load_state_dict(sd)\n"
        "    else:\n        obj.load_state_dict(sd)\n",
        OTHER,
        SURE,
    ),
    (
        "module_branch",
        "public generic checkpoint helper",
        "def restore(obj, sd):\n    if isinstance(obj, nn.Module):\n        obj.load_state_dict(sd)\n",
        MODEL,
        SURE,
    ),
    (
        "module_and_condition",
        "public generic checkpoint helper",
        "if isinstance(m, torch.nn.Module) and sd is not None:\n    m.load_state_dict(sd)\n",
        MODEL,
        SURE,
    ),
    (
        "not_a_module_negated",
        "public generic checkpoint helper",
        "if not isinstance(obj, nn.Module):\n    obj.load_state_dict(sd)\n",
        OTHER,
        SURE,
    ),
    (
        "hooks_loop",
        "public hook registry",
        "for h in self._hooks:\n    h.load_state_dict(value)\n",
        TRAINER,
        SURE,
    ),
    (
        "meters_values",
        "public fairseq-style trainer",
        "for meter in self.meters.values():\n    meter.load_state_dict(state)\n",
        TRAINER,
        SURE,
    ),
    (
        "timm_create_model",
        "public timm finetuner",
        "model = timm.create_model('vit_base_patch16_224', pretrained=False)\n"
        "model.load_state_dict(sd)\n",
        MODEL,
        SURE,
    ),
    (
        "torchvision_factory_short_name",
        "public torchvision finetuner",
        "m = torchvision.models.resnet50()\nm.load_state_dict(torch.load(path))\n",
        MODEL,
        SURE,
    ),
    (
        "hf_auto_model_short_name",
        "public transformers script",
        "m = AutoModel.from_pretrained(name)\nm.load_state_dict(state)\n",
        MODEL,
        SURE,
    ),
    (
        "in_file_module_class",
        "public training script",
        "class Classifier2(nn.Module):\n    pass\n\nc = Classifier2()\nc.load_state_dict(state)\n",
        MODEL,
        SURE,
    ),
    (
        "torch_compile_wrapper",
        "public finetuner",
        "compiled = torch.compile(model)\ncompiled._orig_mod.load_state_dict(state, strict=False)\n",
        MODEL,
        SURE,
    ),
]


def judged(snippet: str) -> Finding:
    """The finding of the snippet's last load_state_dict call."""
    findings = scan(snippet).findings
    assert findings, snippet
    return max(findings, key=lambda f: f.span.start)


@pytest.mark.parametrize(
    ("snippet", "kind", "confidence"),
    [row[2:] for row in REAL_CALLS],
    ids=[row[0] for row in REAL_CALLS],
)
def test_receiver_kind_and_confidence(
    snippet: str, kind: ReceiverKind, confidence: Confidence
) -> None:
    finding = judged(snippet)
    assert (finding.kind, finding.confidence) == (kind, confidence), finding.evidence


def test_the_table_covers_real_projects() -> None:
    assert len(REAL_CALLS) >= 60
    repositories = {row[1].split()[0] for row in REAL_CALLS if "/" in row[1].split()[0]}
    assert len(repositories) >= 10
    assert len({row[0] for row in REAL_CALLS}) == len(REAL_CALLS)


def test_model_calls_found_and_bulk_fixes_are_models() -> None:
    findings = [(judged(row[2]), row[3]) for row in REAL_CALLS]
    models = [f for f, truth in findings if truth is MODEL]
    found = [f for f in models if f.kind is MODEL]
    bulk = [(f, truth) for f, truth in findings if f.kind is MODEL and f.confidence.is_sure]
    assert len(found) / len(models) >= 0.98
    assert sum(truth is MODEL for _, truth in bulk) / len(bulk) >= 0.995


def test_non_models_are_never_bulk_fixed() -> None:
    for _, _, snippet, kind, _ in REAL_CALLS:
        if kind is not MODEL:
            assert not judged(snippet).bulk_fixable, snippet


def test_sure_findings_say_what_they_rest_on() -> None:
    for _, _, snippet, _, confidence in REAL_CALLS:
        finding = judged(snippet)
        assert bool(finding.evidence) == (confidence is SURE), snippet
